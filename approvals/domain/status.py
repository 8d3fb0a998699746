"""The approval request's states: the table of allowed transitions, in pure Python.

A request is raised *pending* and is answered once: a person approves it (it is carried
out), rejects it, or asks for changes (a revised proposal is a new request); the SLA
timers (``approvals.domain.timers``) expire it as rejected, or approve it by default, when
nobody answers. Every answer is final: a decided request never changes state again.

Every change of state is checked by :func:`check_transition`, through the one helper in
``approvals.services.decisions`` that sets the status.
"""

from __future__ import annotations

from enum import StrEnum

from governance.domain.errors import TransitionNotAllowed


class Status(StrEnum):
    """The values of ``approvals.models.ApprovalStatus`` (kept equal by the tests)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


#: From each state, the states it may move to.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset(
        {Status.APPROVED, Status.REJECTED, Status.CHANGES_REQUESTED, Status.EXPIRED}
    ),
    Status.APPROVED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.CHANGES_REQUESTED: frozenset(),
    Status.EXPIRED: frozenset(),
}

#: States nothing leaves: the request was answered (by a person, or by its timer).
FINAL_STATES = frozenset(state for state, targets in TRANSITIONS.items() if not targets)


class AlreadyDecided(TransitionNotAllowed):
    """The request (or a policy proposal) was decided already: there is nothing to decide."""


def check_transition(current: Status | str, target: Status | str, *, decided_by: str = "") -> None:
    """Raise a :class:`TransitionNotAllowed` saying why ``current → target`` is refused,
    else return. ``decided_by`` names who answered a decided request (default: the
    system, for the timers' answers)."""
    current, target = Status(current), Status(target)
    if current in FINAL_STATES:
        raise AlreadyDecided(
            f"This request was already {current.label.lower()} by {decided_by or 'the system'}."
        )
    if target not in TRANSITIONS[current]:
        options = ", ".join(sorted(s.label.lower() for s in TRANSITIONS[current])) or "nothing"
        raise TransitionNotAllowed(
            f"A {current.label.lower()} request cannot become {target.label.lower()}; "
            f"it can become: {options}."
        )
