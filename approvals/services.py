"""Writes for the approvals app: the delegation-policy gate, decisions on approval
requests, the SLA timers that escalate or close unanswered ones, the two-person rule for
policy changes, and claiming, reassigning and delegating reviews.

Every write here follows the lock order in ``governance.services``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from governance import events
from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted, ReasonRequired
from governance.domain.roles import Role
from governance.models import ReviewDelegation
from governance.services import audit_record

from .domain.decisions import claim_is_active, content_hash, edit_effort
from .domain.impact import facts_to_json
from .domain.policy import (
    DEFAULT_POLICY,
    Outcome,
    Policy,
    PolicyInvalid,
    ProposedAction,
    evaluate,
    policy_from_json,
)
from .domain.timers import (
    ESCALATION_TIERS,
    HARD_DEADLINE_FACTOR,
    SafeDefault,
    TimerRule,
    escalation_tier,
    format_duration,
)
from .models import (
    ApprovalRequest,
    ApprovalStatus,
    DelegationPolicy,
    PolicyDecisionRecord,
    PolicyStatus,
)

logger = logging.getLogger(__name__)


# --- The delegation-policy gate -------------------------------------------------------


class AlreadyDecided(DomainError):
    pass


@dataclass(frozen=True)
class GateResult:
    """What became of a proposed action: its recorded decision, the approval request it
    waits in (if held), and whether it was carried out now."""

    decision: PolicyDecisionRecord
    approval: ApprovalRequest | None = None
    executed: bool = False

    @property
    def refused(self) -> bool:
        return self.decision.outcome == Outcome.REFUSE


def active_policy(campaign: Any) -> tuple[DelegationPolicy | None, Policy]:
    """The policy in force for a campaign: its own override, else its brand's, else the
    default (``DEFAULT_POLICY``, recorded as version 0)."""
    row = (
        DelegationPolicy.objects.filter(status=PolicyStatus.ACTIVE, campaign=campaign).first()
        or DelegationPolicy.objects.filter(
            status=PolicyStatus.ACTIVE, brand_id=campaign.brand_id, campaign__isnull=True
        ).first()
    )
    if row is None:
        return None, replace(DEFAULT_POLICY, version=0)
    return row, policy_from_json(row.version, row.rules)


def approved_claims_for(brand_id: int) -> frozenset[str]:
    """Claims legal has approved for a brand and that have not expired today: the wordings
    and variants in its claims registry. Any other claim an agent uses goes to legal."""
    from memory.selectors import approved_claim_wordings

    return approved_claim_wordings(brand_id)


def action_propose(
    *,
    campaign_id: int,
    action: str,
    payload: dict[str, Any],
    actor: Actor,
    summary: str,
    amount: Decimal = Decimal("0"),
    spend: Decimal = Decimal("0"),
    confidence: float | None = None,
    claims: Iterable[str] = (),
    categories: Iterable[str] = (),
    evidence: dict[str, Any] | None = None,
    cost: Decimal | None = None,
    agent_run_id: int | None = None,
) -> GateResult:
    """The gate every delegated action passes: evaluate the policy, record the decision,
    then carry the action out, hold it for a person, or refuse it — in one transaction.
    ``agent_run_id`` ties the decision to the agent run that proposed it (its timeline)."""
    from campaigns.models import Campaign
    from campaigns.services import spent_today
    from governance.executors import executor_for

    try:
        action_type = ActionType(action)
    except ValueError:
        raise DomainError(f"“{action}” is not an action agents can propose.") from None
    executor = executor_for(action_type)
    executor.validate(payload)  # malformed agent output is refused before anything is written
    digest = content_hash(payload)

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
        policy_row, policy = active_policy(campaign)
        proposed = ProposedAction(
            action=action_type,
            by_agent=actor.is_agent,
            amount=amount,
            spend=spend,
            budget_total=campaign.budget_total,
            budget_consumed=campaign.budget_consumed,
            daily_cap=campaign.daily_cap,
            spent_today=spent_today(campaign),
            confidence=confidence,
            claims=frozenset(claims),
            approved_claims=approved_claims_for(campaign.brand_id),
            categories=frozenset(categories),
        )
        decision = evaluate(policy, proposed)
        record = PolicyDecisionRecord.objects.create(
            facts=facts_to_json(proposed),
            campaign=campaign,
            brand_id=campaign.brand_id,
            action_type=action_type.value,
            actor_label=actor.label,
            outcome=decision.outcome.value,
            rule=decision.rule,
            reason=decision.reason,
            approver_role=decision.approver.value if decision.approver else "",
            policy=policy_row,
            policy_version=decision.policy_version,
            content_hash=digest,
            agent_run_id=agent_run_id,
        )
        audit_record(
            actor=actor,
            action="policy.decided",
            target=record,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={
                "action": action_type.value,
                "outcome": decision.outcome.value,
                "rule": decision.rule,
                "reason": decision.reason,
                "policy_version": decision.policy_version,
                "content_hash": digest,
            },
        )
        if decision.outcome == Outcome.ALLOW:
            executor.run(campaign, payload, actor, f"policy decision #{record.pk}")
            return GateResult(decision=record, executed=True)
        if decision.outcome == Outcome.REFUSE:
            return GateResult(decision=record)
        approval = ApprovalRequest.objects.create(
            campaign=campaign,
            brand_id=campaign.brand_id,
            action_type=action_type.value,
            queue_role=decision.approver.value if decision.approver else Role.MANAGER.value,
            summary=summary[:300],
            requested_by_agent=actor.agent if actor.is_agent else "",
            requested_by_user_id=actor.user_id,
            is_recommendation=decision.outcome == Outcome.RECOMMEND,
            decision=record,
            payload=payload,
            content_hash=digest,
            evidence=evidence or {},
            confidence=confidence,
            cost=cost,
        )
        audit_record(
            actor=actor,
            action="approval.requested",
            target=approval,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={
                "action_type": action_type.value,
                "queue_role": approval.queue_role,
                "content_hash": digest,
                "rule": decision.rule,
                "due_at": approval.due_at.isoformat(),
            },
        )
        _announce(campaign.pk, approval.pk, created=True)
        events.announce_publicly(
            event="approval.requested",
            brand_id=campaign.brand_id,
            data={
                "approval_id": approval.pk,
                "campaign_id": campaign.pk,
                "action_type": action_type.value,
                "queue_role": approval.queue_role,
                "summary": approval.summary,
                "rule": decision.rule,
            },
        )
        from .links import approval_notify_reviewers

        approval_notify_reviewers(approval)
    return GateResult(decision=record, approval=approval)


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
        if approval.status != ApprovalStatus.PENDING:
            who = approval.decided_by.get_username() if approval.decided_by else "the system"
            raise AlreadyDecided(
                f"This request was already {approval.get_status_display().lower()} by {who}."
            )
        refusal = policies.approval_refusal(user, approval)
        if refusal:
            raise NotPermitted(refusal)
        now = timezone.now()
        _refuse_if_claimed_by_another(approval, user, now)
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
            _execute_approved(approval, executor=executor, payload=payload, acting=acting, now=now)
        elif request_changes:
            # Back to the agent with the comment; a revised proposal is a new request.
            approval.status = ApprovalStatus.CHANGES_REQUESTED
        else:
            approval.status = ApprovalStatus.REJECTED
        approval.decided_by, approval.decided_at = user, now
        approval.decision_note = note.strip()
        approval.save(update_fields=_DECISION_FIELDS)
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
        _announce(approval.campaign_id, approval.pk)
        _settled(approval)
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


# --- SLA timers on the queues -----------------------------------------------------------

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
    _announce(approval.campaign_id, approval.pk, escalated=True)


def _approval_expire(
    approval: ApprovalRequest, *, rule: TimerRule, now: datetime, note: str
) -> None:
    """Close an unanswered request as rejected: nothing runs."""
    approval.status, approval.decided_at = ApprovalStatus.EXPIRED, now
    approval.decided_by, approval.decision_note = None, note
    approval.save(update_fields=_DECISION_FIELDS)
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
    _announce(approval.campaign_id, approval.pk)
    _settled(approval)


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
            _execute_approved(
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
    approval.save(update_fields=_DECISION_FIELDS)
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
    _announce(approval.campaign_id, approval.pk)
    _settled(approval)
    return "default_approved"


_DECISION_FIELDS = [
    "status",
    "executed_at",
    "payload",
    "content_hash",
    "decided_by",
    "decided_at",
    "decision_note",
]


def _execute_approved(
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
    executor.run(approval.campaign, payload, acting, f"approval #{approval.pk}")
    approval.status, approval.executed_at = ApprovalStatus.APPROVED, now
    approval.payload, approval.content_hash = payload, content_hash(payload)


def _announce(
    campaign_id: int,
    approval_id: int | None = None,
    *,
    created: bool = False,
    escalated: bool = False,
) -> None:
    """After commit: the campaign's tower row, and the approval's queue card if given."""
    events.announce_on_commit(events.campaign_changed, campaign_id=campaign_id)
    if approval_id is not None:
        events.announce_on_commit(
            events.approval_changed, approval_id=approval_id, created=created, escalated=escalated
        )


def _settled(approval: ApprovalRequest) -> None:
    """Nothing waits for the reviewers any more: their notices about it are read."""
    from monitoring.services.notify import notifications_settle_approval

    notifications_settle_approval(approval_id=approval.pk)


# --- Changing the delegation policy (two-person rule) ----------------------------------


class PolicyChangeInvalid(DomainError):
    pass


def policy_propose(
    *,
    admin: Any,
    brand_id: int,
    rules: dict[str, Any],
    note: str,
    campaign_id: int | None = None,
) -> DelegationPolicy:
    """Propose a new version of a brand's (or one campaign's) policy. It changes nothing
    until a second admin approves it (``policy_decide``)."""
    from governance import policies

    if not policies.is_admin(admin):
        raise NotPermitted("Only admins change the delegation policy.")
    if not note.strip():
        raise ReasonRequired("Say why the policy should change: a note is required.")
    try:
        policy_from_json(0, rules)
    except PolicyInvalid as exc:
        raise PolicyChangeInvalid(str(exc)) from exc
    with transaction.atomic():
        # The brand's versions are numbered in one sequence: lock its newest to number.
        latest = (
            DelegationPolicy.objects.select_for_update(no_key=True)
            .filter(brand_id=brand_id)
            .order_by("-version")
            .first()
        )
        current = _active_row(brand_id, campaign_id)
        proposal = DelegationPolicy.objects.create(
            brand_id=brand_id,
            campaign_id=campaign_id,
            version=(latest.version if latest else 0) + 1,
            rules=rules,
            status=PolicyStatus.PROPOSED,
            created_by=admin,
            note=note.strip(),
            based_on_version=current.version if current else 0,
        )
        audit_record(
            actor=Actor.for_user(admin),
            action="policy.proposed",
            target=proposal,
            brand_id=brand_id,
            campaign_id=campaign_id,
            data={"version": proposal.version, "based_on": proposal.based_on_version, "note": note},
        )
    return proposal


def policy_decide(*, policy_id: int, admin: Any, approve: bool, note: str = "") -> DelegationPolicy:
    """A second admin approves (it takes effect at once, superseding the version in
    force) or rejects a proposed policy. The proposer can do neither."""
    from governance import policies

    with transaction.atomic():
        proposal = DelegationPolicy.objects.select_for_update(no_key=True).get(pk=policy_id)
        if proposal.status != PolicyStatus.PROPOSED:
            raise AlreadyDecided(
                f"Version {proposal.version} is already {proposal.get_status_display().lower()}."
            )
        if not policies.is_admin(admin):
            raise NotPermitted("Only admins decide policy changes.")
        if proposal.created_by_id == admin.pk:
            raise NotPermitted("A second admin must approve a policy change you proposed.")
        if not approve and not note.strip():
            raise ReasonRequired("Say why you reject it: a reason is required.")
        now = timezone.now()
        if approve:
            current = _active_row(proposal.brand_id, proposal.campaign_id, lock=True)
            if current is not None:
                current.status = PolicyStatus.SUPERSEDED
                current.save(update_fields=["status"])
            proposal.status = PolicyStatus.ACTIVE
        else:
            proposal.status = PolicyStatus.REJECTED
        proposal.decided_by, proposal.decided_at = admin, now
        proposal.decision_note = note.strip()
        proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(
            actor=Actor.for_user(admin),
            action="policy.activated" if approve else "policy.rejected",
            target=proposal,
            brand_id=proposal.brand_id,
            campaign_id=proposal.campaign_id,
            data={"version": proposal.version, "note": note.strip()},
        )
    return proposal


def _active_row(
    brand_id: int, campaign_id: int | None, *, lock: bool = False
) -> DelegationPolicy | None:
    """The version in force for exactly this scope (a brand, or one campaign of it)."""
    rows = DelegationPolicy.objects.filter(
        brand_id=brand_id, campaign_id=campaign_id, status=PolicyStatus.ACTIVE
    )
    if lock:
        rows = rows.select_for_update(no_key=True)
    return rows.first()


# --- Claiming, reassigning and delegating reviews ----------------------------------------


def _refuse_if_claimed_by_another(approval: ApprovalRequest, user: Any, now: Any) -> None:
    from django.conf import settings

    minutes = settings.CONTROLTOWER_CLAIM_MINUTES
    if approval.claimed_by_id not in (None, user.pk) and claim_is_active(
        approval.claimed_at, now, minutes=minutes
    ):
        raise NotPermitted(
            f"{approval.claimed_by.get_username()} is reviewing this item (since "
            f"{timezone.localtime(approval.claimed_at):%H:%M}); ask them, or an admin, to "
            "release or reassign it."
        )


def approval_claim(*, approval_id: int, user: Any) -> ApprovalRequest:
    """Take an item for review: others cannot decide it while the claim is fresh."""
    from governance import policies

    with transaction.atomic():
        approval = (
            ApprovalRequest.objects.select_for_update(no_key=True, of=("self",))
            .select_related("claimed_by")
            .get(pk=approval_id)
        )
        if approval.status != ApprovalStatus.PENDING:
            raise AlreadyDecided("This request is no longer waiting for a decision.")
        refusal = policies.approval_refusal(user, approval)
        if refusal:
            raise NotPermitted(refusal)
        now = timezone.now()
        _refuse_if_claimed_by_another(approval, user, now)
        approval.claimed_by, approval.claimed_at = user, now
        approval.save(update_fields=["claimed_by", "claimed_at"])
        audit_record(
            actor=Actor.for_user(user),
            action="approval.claimed",
            target=approval,
            brand_id=approval.brand_id,
            campaign_id=approval.campaign_id,
        )
        # TRICKY: not pushed live: a pushed card has no viewer, so it would hide the
        # holder's own controls. Others asking to decide are told who holds it.
    return approval


def approval_reassign(*, approval_id: int, user: Any, to_user: Any | None) -> ApprovalRequest:
    """Hand a claimed item to another reviewer who may decide it (or release it, with
    ``to_user=None``). The holder or an admin may do this."""
    from governance import policies

    with transaction.atomic():
        approval = (
            ApprovalRequest.objects.select_for_update(no_key=True, of=("self",))
            .select_related("claimed_by")
            .get(pk=approval_id)
        )
        if approval.status != ApprovalStatus.PENDING:
            raise AlreadyDecided("This request is no longer waiting for a decision.")
        if approval.claimed_by_id != user.pk and not policies.is_admin(user):
            raise NotPermitted("Only the reviewer holding this item, or an admin, can hand it on.")
        if to_user is not None:
            refusal = policies.approval_refusal(to_user, approval)
            if refusal:
                raise NotPermitted(f"{to_user.get_username()} cannot take it: {refusal}")
        before = approval.claimed_by.get_username() if approval.claimed_by else ""
        approval.claimed_by = to_user
        approval.claimed_at = timezone.now() if to_user else None
        approval.save(update_fields=["claimed_by", "claimed_at"])
        audit_record(
            actor=Actor.for_user(user),
            action="approval.reassigned" if to_user else "approval.released",
            target=approval,
            brand_id=approval.brand_id,
            campaign_id=approval.campaign_id,
            data={"from": before, "to": to_user.get_username() if to_user else ""},
        )
        # TRICKY: not pushed live: a pushed card has no viewer, so it would hide the
        # holder's own controls. Others asking to decide are told who holds it.
    return approval


def review_delegate(
    *, reviewer: Any, delegate: Any, starts_at: Any, ends_at: Any
) -> ReviewDelegation:
    """While ``reviewer`` is away, ``delegate`` may decide what they could."""
    from datetime import timedelta

    if delegate is None or not delegate.is_active:
        raise DomainError("Choose an active colleague to delegate to.")
    if delegate.pk == reviewer.pk:
        raise DomainError("Delegate to someone else.")
    if ends_at <= starts_at:
        raise DomainError("The end must come after the start.")
    if ends_at - starts_at > timedelta(days=60):
        raise DomainError("Delegate for 60 days at most; set a new delegation after that.")
    with transaction.atomic():
        delegation = ReviewDelegation.objects.create(
            reviewer=reviewer, delegate=delegate, starts_at=starts_at, ends_at=ends_at
        )
        audit_record(
            actor=Actor.for_user(reviewer),
            action="review.delegated",
            target=delegation,
            data={
                "delegate": delegate.get_username(),
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
        )
    return delegation


# --- Claims cleared in the registry ----------------------------------------------------


def approvals_reconsider_claims(*, brand_id: int, actor: Actor) -> list[int]:
    """Legal approved a claim in the registry: requests that wait for legal *only*
    because of claims that are now approved go where the policy sends them today (a
    draft to the marketing manager's queue), with the new decision recorded and its
    queue's clock started afresh. One decision on the claim instead of one per draft.
    The ids moved."""
    from .domain.impact import facts_from_json

    moved: list[int] = []
    with transaction.atomic():
        approved = approved_claims_for(brand_id)
        # TRICKY: skip_locked, not a wait. The claim's review has written its audit
        # event already (it holds the audit chain head), and a head-holder must never
        # wait for a row (lock order, above); a request locked right now is a person
        # deciding it, and their answer wins.
        waiting = (
            ApprovalRequest.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .select_related("decision", "campaign")
            .filter(
                brand_id=brand_id,
                status=ApprovalStatus.PENDING,
                decision__rule="claims.unapproved",
            )
            .order_by("pk")
        )
        for approval in waiting:
            before = approval.decision
            proposed = replace(facts_from_json(before.facts), approved_claims=approved)
            policy_row, policy = active_policy(approval.campaign)
            decision = evaluate(policy, proposed)
            if decision.outcome not in (Outcome.APPROVAL, Outcome.RECOMMEND):
                continue  # still legal's, or the policy would now act or refuse alone
            if decision.rule == "claims.unapproved" or decision.approver is None:
                continue
            record = PolicyDecisionRecord.objects.create(
                facts=facts_to_json(proposed),
                campaign=approval.campaign,
                brand_id=brand_id,
                action_type=approval.action_type,
                actor_label=before.actor_label,
                outcome=decision.outcome.value,
                rule=decision.rule,
                reason=f"Its claims are now approved in the registry. {decision.reason}",
                approver_role=decision.approver.value,
                policy=policy_row,
                policy_version=decision.policy_version,
                content_hash=approval.content_hash,
                agent_run_id=before.agent_run_id,
            )
            from_role, now = approval.queue_role, timezone.now()
            approval.queue_role = decision.approver.value
            approval.decision = record
            approval.is_recommendation = decision.outcome == Outcome.RECOMMEND
            approval.due_at = now + approval.timer_rule().sla
            approval.save(update_fields=["queue_role", "decision", "is_recommendation", "due_at"])
            audit_record(
                actor=actor,
                action="approval.rerouted",
                target=approval,
                brand_id=brand_id,
                campaign_id=approval.campaign_id,
                data={"from": from_role, "to": approval.queue_role, "rule": decision.rule},
            )
            events.announce_on_commit(
                events.approval_moved, approval_id=approval.pk, from_role=from_role
            )
            from .links import approval_notify_reviewers

            _settled(approval)  # legal's "waiting for you" notices: nothing waits for them
            approval_notify_reviewers(approval)
            _announce(approval.campaign_id)
            moved.append(approval.pk)
    return moved
