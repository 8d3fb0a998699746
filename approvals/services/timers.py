"""The SLA timers on the queues: a sweep (Celery beat) escalates pending requests past
their SLA and applies the safe default — expire, or approve by default — to those past
their hard deadline (``approvals.domain.timers``).

Every write here follows the lock order in ``governance.services``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from governance.services import audit_record

from ..domain.decisions import content_hash
from ..domain.status import Status
from ..domain.timers import (
    ESCALATION_TIERS,
    HARD_DEADLINE_FACTOR,
    SafeDefault,
    TimerRule,
    escalation_tier,
    format_duration,
)
from ..models import ApprovalRequest, ApprovalStatus
from .announce import announce_changed, announce_settled
from .decisions import DECISION_FIELDS, execute_approved, status_move

logger = logging.getLogger(__name__)

#: Who escalates and applies safe defaults: the sweep Celery beat runs, on nobody's behalf.
TIMER_ACTOR = Actor.system("approval-timers")


@dataclass
class SweepResult:
    """What one sweep did, by approval request id."""

    escalated: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    default_approved: list[int] = field(default_factory=list)
    # Locked by a person deciding it right now, or changed since it was listed.
    skipped: list[int] = field(default_factory=list)
    # Raised an unexpected error: rolled back alone, logged, tried again next sweep.
    failed: list[int] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.escalated) + len(self.expired) + len(self.default_approved)


def approval_timers_sweep(
    *, now: datetime | None = None, batch_size: int = 50, max_items: int = 1000
) -> SweepResult:
    """Escalate pending requests past their SLA and apply the safe default to those past
    their hard deadline (``approvals.domain.timers``). Celery beat runs it every
    ``CONTROLTOWER_APPROVAL_SWEEP_SECONDS``.

    Each request is handled in its own transaction under its row lock, so one failure
    undoes nothing else, and a crash mid-sweep leaves the rest for the next one. Running
    it twice (or two sweeps at once) is harmless: the state is re-read under the lock and
    a request is escalated once and closed once. ``max_items`` bounds one sweep so it
    stays well inside the task's time limit; the next sweep takes the rest.
    """
    now = now or timezone.now()
    result = SweepResult()
    seen: list[int] = []
    while len(seen) < max_items:
        batch = list(
            _timer_candidates(now)
            .exclude(pk__in=seen)
            .values_list("pk", flat=True)[: min(batch_size, max_items - len(seen))]
        )
        if not batch:
            break
        for approval_id in batch:
            seen.append(approval_id)
            try:
                outcome = _approval_timer_apply(approval_id=approval_id, now=now)
            except Exception:
                # TRICKY: one request that cannot be handled (a bug, a broken executor)
                # must not stop the queue behind it; it is logged and retried next sweep.
                logger.exception("The SLA timer of approval request %s failed", approval_id)
                outcome = "failed"
            getattr(result, outcome).append(approval_id)
    return result


def _timer_candidates(now: datetime) -> models.QuerySet[ApprovalRequest]:
    """Pending requests with something due: past the SLA and not yet escalated (where a
    tier above exists), or past the hard deadline. Oldest promise first."""
    sla = ExpressionWrapper(F("due_at") - F("created_at"), output_field=DurationField())
    # TRICKY: a duration times an integer is not portable (SQLite gets it wrong), so the
    # hard deadline (created_at + FACTOR * SLA) is due_at plus the SLA, FACTOR - 1 times.
    hard_deadline: Any = F("due_at")
    for _ in range(HARD_DEADLINE_FACTOR - 1):
        hard_deadline = ExpressionWrapper(hard_deadline + sla, output_field=DateTimeField())
    return (
        ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, due_at__lte=now)
        .annotate(deadline_at=hard_deadline)
        .filter(
            Q(deadline_at__lte=now)
            | Q(escalated_at__isnull=True, queue_role__in=list(ESCALATION_TIERS))
        )
        .order_by("due_at", "pk")
    )


def _approval_timer_apply(*, approval_id: int, now: datetime) -> str:
    """Apply what is due on one request; the name of the ``SweepResult`` list it joins."""
    with transaction.atomic():
        # TRICKY: skip_locked, not a wait: a locked row is a person deciding it right
        # now, and their answer wins. The status filter re-checks under the lock, so a
        # request decided since it was listed is left alone.
        approval = (
            ApprovalRequest.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .select_related("campaign")
            .filter(pk=approval_id, status=ApprovalStatus.PENDING)
            .first()
        )
        if approval is None:
            return "skipped"
        state, rule = approval.timer_state(now), approval.timer_rule()
        if state.apply_default:
            waited = format_duration(state.deadline_at - approval.created_at)
            if rule.safe_default == SafeDefault.APPROVE:
                return _approval_default_approve(approval, rule=rule, waited=waited, now=now)
            _approval_expire(
                approval,
                rule=rule,
                now=now,
                note=f"Expired as rejected after {waited} without an answer.",
            )
            return "expired"
        if state.escalate:
            _approval_escalate(approval, rule=rule, now=now)
            return "escalated"
        return "skipped"


def _approval_escalate(approval: ApprovalRequest, *, rule: TimerRule, now: datetime) -> None:
    tier = escalation_tier(approval.queue_role)
    approval.escalated_at, approval.escalated_to = now, tier or ""
    approval.save(update_fields=["escalated_at", "escalated_to"])
    audit_record(
        actor=TIMER_ACTOR,
        action="approval.escalated",
        target=approval,
        brand_id=approval.brand_id,
        campaign_id=approval.campaign_id,
        data={
            "from": approval.queue_role,
            "to": tier,
            "rule": rule.name,
            "due_at": approval.due_at.isoformat(),
        },
    )
    announce_changed(approval.campaign_id, approval.pk, escalated=True)


def _approval_expire(
    approval: ApprovalRequest, *, rule: TimerRule, now: datetime, note: str
) -> None:
    """Close an unanswered request as rejected: nothing runs."""
    status_move(approval, Status.EXPIRED)
    approval.decided_at = now
    approval.decided_by, approval.decision_note = None, note
    approval.save(update_fields=DECISION_FIELDS)
    audit_record(
        actor=TIMER_ACTOR,
        action="approval.expired",
        target=approval,
        brand_id=approval.brand_id,
        campaign_id=approval.campaign_id,
        data={
            "rule": rule.name,
            "safe_default": SafeDefault.EXPIRE.value,
            "reason": note,
            "queue_role": approval.queue_role,
            "escalated_to": approval.escalated_to,
            "due_at": approval.due_at.isoformat(),
            "content_hash": approval.content_hash,
        },
    )
    announce_changed(approval.campaign_id, approval.pk)
    announce_settled(approval.pk)


def _approval_default_approve(
    approval: ApprovalRequest, *, rule: TimerRule, waited: str, now: datetime
) -> str:
    """Approve by nobody and carry out the action exactly as proposed, through the same
    path as a person's approval. If it cannot be carried out (the content changed, the
    campaign can no longer move that way), the request expires instead: a default never
    forces an action."""
    from governance.executors import executor_for

    if content_hash(approval.payload) != approval.content_hash:
        _approval_expire(
            approval,
            rule=rule,
            now=now,
            note=f"Expired after {waited} without an answer: its content no longer matches "
            "what was proposed, so it cannot be approved by default.",
        )
        return "expired"
    acting = (
        Actor.for_agent(approval.requested_by_agent) if approval.requested_by_agent else TIMER_ACTOR
    )
    try:
        # A savepoint: a refused action leaves nothing half-done before the request expires.
        with transaction.atomic():
            executor = executor_for(ActionType(approval.action_type))
            execute_approved(
                approval, executor=executor, payload=approval.payload, acting=acting, now=now
            )
    except DomainError as refused:
        _approval_expire(
            approval,
            rule=rule,
            now=now,
            note=f"Expired after {waited} without an answer: approving it by default "
            f"was refused ({refused})",
        )
        return "expired"
    approval.decided_by, approval.decided_at = None, now
    approval.decision_note = f"Approved by default after {waited} without an answer."
    approval.save(update_fields=DECISION_FIELDS)
    audit_record(
        actor=TIMER_ACTOR,
        action="approval.default_approved",
        target=approval,
        brand_id=approval.brand_id,
        campaign_id=approval.campaign_id,
        data={
            "rule": rule.name,
            "safe_default": SafeDefault.APPROVE.value,
            "reason": approval.decision_note,
            "queue_role": approval.queue_role,
            "escalated_to": approval.escalated_to,
            "due_at": approval.due_at.isoformat(),
            "content_hash": approval.content_hash,
            "executed_content_hash": approval.content_hash,
        },
    )
    announce_changed(approval.campaign_id, approval.pk)
    announce_settled(approval.pk)
    return "default_approved"
