"""What each delegated action does once the gate allows it: a registry filled by the apps.

The gate (``approvals``) carries out an allowed or approved action by asking this registry
for its executor; it does not know which app owns it. Each app registers the executors of
its own actions in its ``AppConfig.ready()``, from its ``subscribers.py``:

    campaigns   launch, pause, change budget, publish content
    memory      update brand memory
    approvals   adjust autonomy
    agents      reallocate budget between the arms of an experiment

An executor validates its payload first — a payload comes from an agent, so it may be
malformed — and then calls the same service a person's click would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .domain.actions import ActionType
from .domain.audit import Actor
from .domain.errors import DomainError


class PayloadInvalid(DomainError):
    """The agent's payload cannot be carried out as it stands; says what is wrong."""


@dataclass(frozen=True)
class Executor:
    validate: Callable[[Mapping[str, Any]], None]
    # (campaign, payload, actor, authorization: what allowed it, e.g. "approval #7")
    run: Callable[[Any, Mapping[str, Any], Actor, str], None]


def reason_of(payload: Mapping[str, Any]) -> str:
    """The payload's non-empty "reason", stripped: every action must say why."""
    reason = payload.get("reason", "")
    if not isinstance(reason, str) or not reason.strip():
        raise PayloadInvalid("The action must say why (a non-empty “reason”).")
    return reason.strip()


_executors: dict[ActionType, Executor] = {}


def register(action: ActionType, executor: Executor) -> None:
    """Make ``executor`` carry out ``action``. One executor per action: a second is a bug."""
    known = _executors.get(action)
    if known is not None and known != executor:
        raise RuntimeError(f"{action} already has an executor ({known.run.__module__}).")
    _executors[action] = executor


def executor_for(action: ActionType) -> Executor:
    try:
        return _executors[ActionType(action)]
    except KeyError:
        raise DomainError(f"“{ActionType(action).label}” cannot be carried out yet.") from None


def registered() -> dict[ActionType, Executor]:
    """Every registered executor (for ``manage.py subscribers`` and the tests)."""
    return dict(_executors)
