"""What each delegated action does once the gate allows it (or a person approved it).

Each executor validates its payload first — a payload comes from an agent, so it may be
malformed — and then calls the same service a person's click would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from memory.domain.entries import ChangeInvalid, MemoryChange, parse_memory_change
from memory.services import memory_change_apply

from .domain.inputs import is_ascii_number
from .models import Campaign
from .services import (
    campaign_change_budget,
    campaign_transition_phase,
    content_approve_for_publishing,
)


class PayloadInvalid(DomainError):
    pass


@dataclass(frozen=True)
class Executor:
    validate: Callable[[Mapping[str, Any]], None]
    # (campaign, payload, actor, authorization: what allowed it, e.g. "approval #7")
    run: Callable[[Campaign, Mapping[str, Any], Actor, str], None]


def _reason(payload: Mapping[str, Any]) -> str:
    reason = payload.get("reason", "")
    if not isinstance(reason, str) or not reason.strip():
        raise PayloadInvalid("The action must say why (a non-empty “reason”).")
    return reason.strip()


def _new_total(payload: Mapping[str, Any]) -> Decimal:
    raw = payload.get("new_total")
    if isinstance(raw, bool) or (isinstance(raw, str) and not is_ascii_number(raw.strip())):
        raise PayloadInvalid("A budget change needs “new_total”, a number.")
    try:
        total = Decimal(str(raw))
    except InvalidOperation:
        raise PayloadInvalid("A budget change needs “new_total”, a number.") from None
    if not total.is_finite() or total <= 0:
        raise PayloadInvalid("The new budget must be a positive number.")
    return total


def _validate_change_budget(payload: Mapping[str, Any]) -> None:
    _new_total(payload)
    _reason(payload)


def _launch(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    campaign_transition_phase(
        campaign_id=campaign.pk,
        to_phase="execution",
        actor=actor,
        reason=_reason(payload),
        authorization=authorization,
    )


def _validate_pause(payload: Mapping[str, Any]) -> None:
    """A pause names why, and optionally the one channel (and variant) it stops."""
    from .domain.briefs import CHANNELS

    _reason(payload)
    channel = payload.get("channel", "")
    if channel and channel not in CHANNELS:
        raise PayloadInvalid(f"“{channel}” is not a channel.")
    variant = payload.get("variant", "")
    if not isinstance(variant, str) or len(variant) > 64 or (variant and not channel):
        raise PayloadInvalid("A variant is named with its channel, in at most 64 characters.")


def _pause(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    if payload.get("channel"):
        # A circuit breaker on that surface only; the rest of the campaign keeps running.
        from monitoring.services import breaker_open

        flag_id = payload.get("flag_id")
        breaker_open(
            campaign_id=campaign.pk,
            channel=payload["channel"],
            variant=payload.get("variant", ""),
            reason=_reason(payload),
            actor=actor,
            authorization=authorization,
            flag_id=flag_id if isinstance(flag_id, int) else None,
        )
        return
    campaign_transition_phase(
        campaign_id=campaign.pk,
        to_phase="paused",
        actor=actor,
        reason=_reason(payload),
        authorization=authorization,
    )


def _change_budget(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    campaign_change_budget(
        campaign_id=campaign.pk,
        new_total=_new_total(payload),
        actor=actor,
        reason=_reason(payload),
    )


def _validate_content(payload: Mapping[str, Any]) -> None:
    from .domain.briefs import CHANNELS

    channel = payload.get("channel")
    if channel not in CHANNELS:
        raise PayloadInvalid(f"Unknown channel “{channel}”; choose from: {', '.join(CHANNELS)}.")
    for field, limit in (("headline", 200), ("body", 5000)):
        value = payload.get(field)
        if not isinstance(value, str) or not value.strip():
            raise PayloadInvalid(f"The content needs a non-empty “{field}”.")
        if len(value) > limit:
            raise PayloadInvalid(f"The {field} is longer than {limit} characters.")
    claims = payload.get("claims", [])
    if not isinstance(claims, list) or not all(isinstance(c, str) for c in claims):
        raise PayloadInvalid("“claims” must be a list of strings.")


def _approve_content(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    content_approve_for_publishing(
        campaign_id=campaign.pk,
        channel=payload["channel"],
        headline=payload["headline"].strip(),
        body=payload["body"].strip(),
        claims=list(payload.get("claims", [])),
        actor=actor,
    )


def _validate_memory_change(payload: Mapping[str, Any]) -> None:
    _memory_change(payload)


def _memory_change(payload: Mapping[str, Any]) -> MemoryChange:
    try:
        return parse_memory_change(payload)
    except ChangeInvalid as exc:
        raise PayloadInvalid(str(exc)) from None


def _update_brand_memory(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    memory_change_apply(
        brand_id=campaign.brand_id,
        change=_memory_change(payload),
        actor=actor,
        authorization=authorization,
        campaign_id=campaign.pk,
    )


def _validate_reallocation(payload: Mapping[str, Any]) -> None:
    """A reallocation names its experiment round and the shares it sets (adding up to 1)."""
    from .domain.briefs import CHANNELS

    _reason(payload)
    for key in ("experiment_id", "round_id"):
        if not isinstance(payload.get(key), int) or isinstance(payload.get(key), bool):
            raise PayloadInvalid(f"A reallocation names its “{key}” (a whole number).")
    if payload.get("channel") not in CHANNELS:
        raise PayloadInvalid("A reallocation names its channel.")
    shares = payload.get("shares")
    if not isinstance(shares, dict) or len(shares) < 2:
        raise PayloadInvalid("A reallocation gives each variant's share (two or more).")
    values = list(shares.values())
    if not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in values
    ):
        raise PayloadInvalid("Each share is a number between 0 and 1.")
    if abs(sum(values) - 1) > 0.01:
        raise PayloadInvalid("The shares must add up to 1.")


def _reallocate(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    from agents.experiments import allocation_apply
    from agents.models import AllocationRound

    allocation = AllocationRound.objects.select_related("experiment").get(pk=payload["round_id"])
    if (
        allocation.experiment.campaign_id != campaign.pk
        or allocation.experiment_id != payload["experiment_id"]
        or allocation.shares != payload["shares"]
    ):
        raise PayloadInvalid("This reallocation does not match the round it names.")
    allocation_apply(round_id=allocation.pk, actor=actor, authorization=authorization)


def _validate_autonomy(payload: Mapping[str, Any]) -> None:
    """A recommendation to move one action type one step, for one agent, with why."""
    from approvals.domain.policy import Mode

    _reason(payload)
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
    from approvals.autonomy import autonomy_step_apply

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


EXECUTORS: dict[ActionType, Executor] = {
    ActionType.PUBLISH_CONTENT: Executor(validate=_validate_content, run=_approve_content),
    ActionType.LAUNCH_CAMPAIGN: Executor(validate=_reason, run=_launch),
    ActionType.PAUSE: Executor(validate=_validate_pause, run=_pause),
    ActionType.CHANGE_BUDGET: Executor(validate=_validate_change_budget, run=_change_budget),
    ActionType.REALLOCATE_BUDGET: Executor(validate=_validate_reallocation, run=_reallocate),
    ActionType.ADJUST_AUTONOMY: Executor(validate=_validate_autonomy, run=_adjust_autonomy),
    ActionType.UPDATE_BRAND_MEMORY: Executor(
        validate=_validate_memory_change, run=_update_brand_memory
    ),
}


def executor_for(action: ActionType) -> Executor:
    try:
        return EXECUTORS[action]
    except KeyError:
        raise DomainError(f"“{action.label}” cannot be carried out yet.") from None
