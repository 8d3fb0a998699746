"""What campaigns' own delegated actions do once the gate allows them: launch, change
budget, publish content (registered in ``campaigns.subscribers``).

Each executor validates its payload first — a payload comes from an agent, so it may be
malformed — and then calls the same service a person's click would.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.executors import Executor, PayloadInvalid, reason_of

from .domain.inputs import is_ascii_number
from .models import Campaign
from .services import (
    campaign_change_budget,
    campaign_transition_phase,
    content_approve_for_publishing,
)


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
    reason_of(payload)


def _launch(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    campaign_transition_phase(
        campaign_id=campaign.pk,
        to_phase="execution",
        actor=actor,
        reason=reason_of(payload),
        authorization=authorization,
    )


def _change_budget(
    campaign: Campaign, payload: Mapping[str, Any], actor: Actor, authorization: str
) -> None:
    campaign_change_budget(
        campaign_id=campaign.pk,
        new_total=_new_total(payload),
        actor=actor,
        reason=reason_of(payload),
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


EXECUTORS: dict[ActionType, Executor] = {
    ActionType.PUBLISH_CONTENT: Executor(validate=_validate_content, run=_approve_content),
    ActionType.LAUNCH_CAMPAIGN: Executor(validate=reason_of, run=_launch),
    ActionType.CHANGE_BUDGET: Executor(validate=_validate_change_budget, run=_change_budget),
}
