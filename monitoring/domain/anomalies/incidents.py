"""The incident machine: one incident → one flag. It groups judged points into incidents
(pending → firing → resolved, with a cooldown after resolving) and knows nothing about
metrics; ``explanations.py`` words its transitions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from .series import State, iso, parse_iso


class Incident:
    """pending → firing → resolved, with cooldown. Knows nothing about metrics."""

    __slots__ = (
        "bad_run",
        "cooldown",
        "first_bad_at",
        "good_run",
        "pending_for",
        "resolve_after",
        "resolved_at",
        "rest",
        "state",
    )

    def __init__(self, *, pending_for: int, resolve_after: int, cooldown: timedelta) -> None:
        self.pending_for, self.resolve_after, self.cooldown = pending_for, resolve_after, cooldown
        self.state = State.INACTIVE
        self.rest = State.INACTIVE  # where a pending incident that clears goes back to
        self.bad_run = self.good_run = 0
        self.first_bad_at: datetime | None = None
        self.resolved_at: datetime | None = None

    def step(self, at: datetime, start_at: datetime, bad: bool) -> tuple[State, State] | None:
        """One judged point; the (from, to) change it makes, if any."""
        state = self.state
        if bad:
            self.good_run = 0
            if state is State.INACTIVE or state is State.RESOLVED:
                if (
                    state is State.RESOLVED
                    and self.resolved_at is not None
                    and at < self.resolved_at + self.cooldown
                ):
                    return None  # a relapse inside the cooldown is the same incident
                self.rest, self.bad_run, self.first_bad_at = state, 1, start_at
                self.state = State.FIRING if self.pending_for <= 1 else State.PENDING
                return state, self.state
            self.bad_run += 1
            if state is State.PENDING and self.bad_run >= self.pending_for:
                self.state = State.FIRING
                return state, State.FIRING
            return None
        self.bad_run = 0
        if state is State.PENDING:
            self.state = self.rest
            return state, self.rest
        if state is State.FIRING:
            self.good_run += 1
            if self.good_run >= self.resolve_after:
                self.state, self.resolved_at, self.good_run = State.RESOLVED, at, 0
                return state, State.RESOLVED
        return None

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "rest": self.rest.value,
            "bad_run": self.bad_run,
            "good_run": self.good_run,
            "first_bad_at": iso(self.first_bad_at),
            "resolved_at": iso(self.resolved_at),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        self.state, self.rest = State(data["state"]), State(data["rest"])
        self.bad_run, self.good_run = data["bad_run"], data["good_run"]
        self.first_bad_at = parse_iso(data["first_bad_at"])
        self.resolved_at = parse_iso(data["resolved_at"])
