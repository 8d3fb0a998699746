"""Answering an approval request: a person approves (after editing, perhaps), rejects or
asks for changes — exactly once — and an approved action is carried out in the same
transaction. The one helper that changes a request's status (``status_move``, through the
table in ``approvals.domain.status``) and the one path that carries out an approved
request (``execute_approved``) live here; the timers' answers take them too.

Every write here follows the lock order in ``governance.services``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance import events
from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted, ReasonRequired
from governance.services import audit_record

from ..domain.decisions import content_hash, edit_effort
from ..domain.status import Status, check_transition
from ..models import ApprovalRequest, ApprovalStatus
from .announce import announce_changed, announce_settled
from .reviews import refuse_if_claimed_by_another


def approval_decide(
    *,
    approval_id: int,
    user: Any,
    approve: bool,
    note: str = "",
    edited_payload: dict[str, Any] | None = None,
    request_changes: bool = False,
) -> ApprovalRequest:
    """Approve (optionally after editing) or reject one request — exactly once.

    The row lock makes concurrent decisions queue up; the second finds it decided and is
    told so. Approving executes, in the same transaction, exactly the content whose hash
    the request carries (or the reviewer's edit, recorded with its size).
    """
    from governance import policies
    from governance.executors import executor_for

    with transaction.atomic():
        approval = (
            ApprovalRequest.objects.select_for_update(no_key=True, of=("self",))
            .select_related("campaign", "decided_by", "claimed_by")
            .get(pk=approval_id)
        )
        # Decided already (by a person, or by the timers) is refused here, first.
        check_transition(
            approval.status,
            _answer(approve=approve, request_changes=request_changes),
            decided_by=approval.decided_by.get_username() if approval.decided_by else "",
        )
        refusal = policies.approval_refusal(user, approval)
        if refusal:
            raise NotPermitted(refusal)
        now = timezone.now()
        refuse_if_claimed_by_another(approval, user, now)
        if request_changes and approve:
            raise DomainError("Either approve it or ask for changes, not both.")
        if request_changes and not note.strip():
            raise ReasonRequired("Say what should change: a comment is required.")
        if not approve and not note.strip():
            raise ReasonRequired("Say why you reject it: a reason is required.")
        if content_hash(approval.payload) != approval.content_hash:
            raise DomainError(
                "This request's content no longer matches what was proposed; it cannot be "
                "approved. Ask the agent to propose it again."
            )
        data: dict[str, Any] = {"content_hash": approval.content_hash, "note": note.strip()}
        if approve:
            executor = executor_for(ActionType(approval.action_type))
            payload = approval.payload
            if edited_payload is not None and content_hash(edited_payload) != approval.content_hash:
                executor.validate(edited_payload)
                data["edit"] = {
                    "content_hash_before": approval.content_hash,
                    "content_hash_after": content_hash(edited_payload),
                    "effort_chars": edit_effort(approval.payload, edited_payload),
                }
                payload = edited_payload
            # A recommendation is adopted by the person; an approval lets the agent act.
            acting = (
                Actor.for_user(user)
                if approval.is_recommendation or not approval.requested_by_agent
                else Actor.for_agent(approval.requested_by_agent)
            )
            execute_approved(approval, executor=executor, payload=payload, acting=acting, now=now)
        elif request_changes:
            # Back to the agent with the comment; a revised proposal is a new request.
            status_move(approval, Status.CHANGES_REQUESTED)
        else:
            status_move(approval, Status.REJECTED)
        approval.decided_by, approval.decided_at = user, now
        approval.decision_note = note.strip()
        approval.save(update_fields=DECISION_FIELDS)
        if approve:
            action = "approval.approved"
        elif request_changes:
            action = "approval.changes_requested"
        else:
            action = "approval.rejected"
        audit_record(
            actor=Actor.for_user(user),
            action=action,
            target=approval,
            brand_id=approval.brand_id,
            campaign_id=approval.campaign_id,
            data={**data, "executed_content_hash": approval.content_hash if approve else None},
        )
        announce_changed(approval.campaign_id, approval.pk)
        announce_settled(approval.pk)
        events.announce_publicly(
            event="approval.decided",
            brand_id=approval.brand_id,
            data={
                "approval_id": approval.pk,
                "campaign_id": approval.campaign_id,
                "action_type": approval.action_type,
                "status": approval.status,
                "decided_by": user.get_username(),
            },
        )
    return approval


def _answer(*, approve: bool, request_changes: bool) -> Status:
    if approve:
        return Status.APPROVED
    return Status.CHANGES_REQUESTED if request_changes else Status.REJECTED


#: What answering a request writes.
DECISION_FIELDS = [
    "status",
    "executed_at",
    "payload",
    "content_hash",
    "decided_by",
    "decided_at",
    "decision_note",
]


def status_move(approval: ApprovalRequest, target: Status) -> None:
    """Set a request's status — the one place that does — if the table in
    ``approvals.domain.status`` allows it; else raise its refusal. The caller saves it,
    with the rest of its answer (``DECISION_FIELDS``)."""
    decided_by = approval.decided_by.get_username() if approval.decided_by_id else ""
    check_transition(approval.status, target, decided_by=decided_by)
    approval.status = ApprovalStatus(target.value)


def execute_approved(
    approval: ApprovalRequest,
    *,
    executor: Any,
    payload: dict[str, Any],
    acting: Actor,
    now: datetime,
) -> None:
    """Carry out an approved request and mark it approved and executed — the one path a
    person's approval and an approval by default both take. The caller holds the row
    lock and has checked the request is pending, so this runs once per request (the
    check constraint ``approval_executed_only_when_approved`` backs it)."""
    check_transition(approval.status, Status.APPROVED)  # before anything is carried out
    executor.run(approval.campaign, payload, acting, f"approval #{approval.pk}")
    status_move(approval, Status.APPROVED)
    approval.executed_at = now
    approval.payload, approval.content_hash = payload, content_hash(payload)
