"""The queue card's view-model, shared by the queue page and the live pushes."""

from __future__ import annotations

from typing import Any

from governance.domain.actions import ActionType

from .domain.policy import LOW_RISK_ACTIONS
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
        "low_risk": action in LOW_RISK_ACTIONS,
        "error": error,
    }
