"""The queue card's view-model, shared by the queue page and the live pushes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from governance.domain.actions import ActionType

from .domain.policy import is_low_risk
from .models import ApprovalRequest

#: Payload fields a reviewer may edit before approving, per action type.
EDITABLE: dict[ActionType, tuple[str, ...]] = {
    ActionType.PUBLISH_CONTENT: ("headline", "body", "claims"),
    ActionType.CHANGE_BUDGET: ("new_total", "reason"),
    ActionType.LAUNCH_CAMPAIGN: ("reason",),
    ActionType.PAUSE: ("reason",),
}


def as_text(value: Any) -> str:
    """A payload value as an editable string (a list is one item per line)."""
    return "\n".join(value) if isinstance(value, list) else str(value)


def card(
    approval: ApprovalRequest,
    *,
    can_decide: bool,
    error: str = "",
    previous: ApprovalRequest | None = None,
) -> dict[str, Any]:
    from django.conf import settings
    from django.utils import timezone

    from .domain.decisions import claim_is_active, payload_diff

    action = ActionType(approval.action_type)
    held = claim_is_active(
        approval.claimed_at, timezone.now(), minutes=settings.CONTROLTOWER_CLAIM_MINUTES
    )
    return {
        "previous": previous,
        "diff": payload_diff(previous.payload, approval.payload) if previous else [],
        "claimed_by": approval.claimed_by if held and approval.status == "pending" else None,
        "approval": approval,
        "action": action,
        "can_decide": can_decide and approval.status == "pending",
        "editable": [(f, as_text(approval.payload.get(f, ""))) for f in EDITABLE.get(action, ())],
        "low_risk": low_risk(approval),
        "error": error,
        # Its line in the list, for the live pushes that update both.
        "row": row(approval, can_decide=can_decide),
    }


def _facts(approval: ApprovalRequest) -> dict[str, Any]:
    decision = approval.decision if approval.decision_id else None
    return (decision.facts or {}) if decision is not None else {}


def _amount(approval: ApprovalRequest) -> Decimal:
    try:
        return Decimal(str(_facts(approval).get("amount") or 0))
    except ArithmeticError:
        return Decimal(0)


def low_risk(approval: ApprovalRequest) -> bool:
    """Whether the request may be approved with others (``approvals.domain.policy``)."""
    decision = approval.decision if approval.decision_id else None
    return is_low_risk(
        approval.action_type,
        queue_role=approval.queue_role,
        rule=decision.rule if decision is not None else "",
        amount=_amount(approval),
    )


def risk(approval: ApprovalRequest) -> list[dict[str, str]]:
    """What the gate recorded that makes the request risky, for the queue's row: the money
    it moves, claims waiting for legal (and sensitive categories), the agent's confidence.
    Each is ``{"label": ..., "level": "high" | "medium" | "low"}``."""
    facts = _facts(approval)
    found: list[dict[str, str]] = []
    amount = _amount(approval)
    if amount:
        found.append({"label": f"{amount:,.0f} {approval.brand.currency}", "level": "high"})
    claims = set(facts.get("claims") or ()) - set(facts.get("approved_claims") or ())
    if claims:
        noun = "claim" if len(claims) == 1 else "claims"
        found.append({"label": f"{len(claims)} {noun} for legal", "level": "high"})
    for category in facts.get("categories") or ():
        found.append({"label": str(category).replace("_", " "), "level": "high"})
    if approval.confidence is not None:
        level = "low" if approval.confidence >= 0.8 else "medium"
        found.append({"label": f"{approval.confidence:.0%} confident", "level": level})
    return found


def row(approval: ApprovalRequest, *, can_decide: bool) -> dict[str, Any]:
    """One line of the queue's list: what it is, whose, how long is left, how risky, and
    who holds it. ``bulk`` — it may be ticked for "Approve selected"."""
    from django.conf import settings
    from django.utils import timezone

    from .domain.decisions import claim_is_active

    held = claim_is_active(
        approval.claimed_at, timezone.now(), minutes=settings.CONTROLTOWER_CLAIM_MINUTES
    )
    pending = approval.status == "pending"
    return {
        "approval": approval,
        "action": ActionType(approval.action_type),
        "timer": approval.timer,
        "risk": risk(approval),
        "claimed_by": approval.claimed_by if held and pending else None,
        "can_decide": can_decide and pending,
        "bulk": can_decide and pending and low_risk(approval),
    }
