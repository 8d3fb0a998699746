"""Answering an approval request: a person approves (after editing, perhaps), rejects or
asks for changes — exactly once — and an approved action is carried out in the same
transaction. The one helper that changes a request's status (``status_move``, through the
table in ``approvals.domain.status``) and the one path that carries out an approved
request (``execute_approved``) live here; the timers' answers take them too.

Every write here follows the lock order in ``governance.services``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
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


@dataclass(frozen=True)
class ManyResult:
    """One item of ``approvals_decide_many``: decided, or refused and why."""

    approval_id: int
    summary: str
    ok: bool
    message: str  # "Approved" or the refusal, in words the reviewer reads


def approvals_decide_many(
    *, approval_ids: Iterable[int], user: Any, note: str = ""
) -> list[ManyResult]:
    """Approve several low-risk requests at once (the queue's "Approve N selected").

    Each goes through ``approval_decide`` in its own transaction, so one refused (decided
    by someone else meanwhile, claimed by another reviewer, not this user's to decide)
    leaves the others approved. A request that is not low-risk
    (``approvals.domain.policy.is_low_risk``) is refused here, whoever asks: it is read
    and decided on its own. Unknown ids and requests outside what the user may see are
    refused as "not found", never decided. One result per id asked for, in that order.
    """
    from governance import policies

    from ..domain.policy import is_low_risk

    ids = list(dict.fromkeys(approval_ids))
    found = {
        a.pk: a
        for a in ApprovalRequest.objects.filter(pk__in=ids)
        .filter(Q(brand_id__in=policies.visible_brand_ids(user)) | policies.queue_scope(user))
        .select_related("decision", "brand")
    }
    results = []
    for pk in ids:
        approval = found.get(pk)
        if approval is None:
            results.append(ManyResult(pk, f"#{pk}", False, "Not found."))
            continue
        decision = approval.decision
        facts = decision.facts if decision is not None else {}
        try:
            amount = Decimal(str((facts or {}).get("amount") or 0))
        except ArithmeticError:
            amount = Decimal(1)
        if not is_low_risk(
            approval.action_type,
            queue_role=approval.queue_role,
            rule=decision.rule if decision is not None else "",
            amount=amount,
        ):
            results.append(
                ManyResult(
                    pk,
                    approval.summary,
                    False,
                    "Not low-risk: open it and decide it on its own.",
                )
            )
            continue
        try:
            approval_decide(approval_id=pk, user=user, approve=True, note=note)
        except (DomainError, NotPermitted) as exc:
            results.append(ManyResult(pk, approval.summary, False, str(exc)))
        else:
            results.append(ManyResult(pk, approval.summary, True, "Approved"))
    return results
