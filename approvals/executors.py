"""What an accepted autonomy recommendation does (registered in ``approvals.subscribers``):
one action type moves one step for one agent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from campaigns.models import Campaign
from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.executors import Executor, PayloadInvalid, reason_of


def _validate_autonomy(payload: Mapping[str, Any]) -> None:
    """A recommendation to move one action type one step, for one agent, with why."""
    from .domain.policy import Mode

    reason_of(payload)
    try:
        ActionType(payload.get("action"))
        Mode(payload.get("from_mode"))
        Mode(payload.get("to_mode"))
    except ValueError:
        raise PayloadInvalid("Name the action type and the modes it moves between.") from None
    if not isinstance(payload.get("agent"), str) or not payload["agent"]:
        raise PayloadInvalid("Name the agent whose record earned it.")
    if not isinstance(payload.get("reasons"), list) or not isinstance(
        payload.get("evidence"), dict
    ):
        raise PayloadInvalid("Give the reasons and the record it is based on.")


def _adjust_autonomy(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    from .services import autonomy_step_apply

    autonomy_step_apply(
        brand_id=campaign.brand_id,
        agent=payload["agent"],
        step_action=payload["action"],
        from_mode=payload["from_mode"],
        to_mode=payload["to_mode"],
        reasons=list(payload["reasons"]),
        evidence=dict(payload["evidence"]),
        actor=actor,
        authorization=authorization,
    )


ADJUST_AUTONOMY = Executor(validate=_validate_autonomy, run=_adjust_autonomy)
