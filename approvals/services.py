"""Writes for the approvals app. For now: recording audit events."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from campaigns.domain.errors import DomainError, NotPermitted, ReasonRequired

from .domain.audit import Actor, event_hash
from .domain.decisions import content_hash, edit_effort
from .domain.policy import (
    DEFAULT_POLICY,
    ActionType,
    Outcome,
    Policy,
    ProposedAction,
    evaluate,
    policy_from_json,
)
from .domain.roles import Role
from .models import (
    ApprovalRequest,
    ApprovalStatus,
    AuditChainHead,
    AuditEvent,
    DelegationPolicy,
    PolicyDecisionRecord,
    PolicyStatus,
)


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model,
    brand_id: int | None = None,
    campaign_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the transaction of the change it
    records, so the change and its audit row commit (or roll back) together."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    # TRICKY: the head row lock serialises appenders; without it two writers could both
    # link to the same previous event and fork the chain.
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_at=timezone.now(),
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        actor_agent=actor.agent,
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        brand_id=brand_id,
        campaign_id=campaign_id,
        data=data or {},
        prev_hash=head.hash,
    )
    # Hash what the database will give back (JSON round trip), not the Python objects.
    event.data = _json_roundtrip(event.data)
    event.hash = event_hash(head.hash, event.hashed_content())
    event.save(force_insert=True)
    head.seq, head.hash = event.seq, event.hash
    head.save(update_fields=["seq", "hash"])
    return event


def _json_roundtrip(value: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(value, default=str))


def brand_assign(*, brand: Any, assignee: Any, actor: Actor) -> None:
    """Assign a person or group to a brand (they then see it and work on it), audited."""
    from .policies import ASSIGNMENT_PERMISSION

    brand_permissions_change(
        brand=brand, assignee=assignee, add={ASSIGNMENT_PERMISSION.split(".")[1]}, actor=actor
    )


def brand_permissions_change(
    *,
    brand: Any,
    assignee: Any,
    actor: Actor,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> None:
    """Grant and revoke object permissions (codenames) on a brand for a user or group —
    the admin's "Object permissions" page comes here — and audit what changed."""
    from guardian.shortcuts import assign_perm, remove_perm

    added, removed = sorted(set(add)), sorted(set(remove))
    if not added and not removed:
        return
    with transaction.atomic():
        for codename in added:
            assign_perm(codename, assignee, brand)
        for codename in removed:
            remove_perm(codename, assignee, brand)
        audit_record(
            actor=actor,
            action="brand.permissions_changed",
            target=brand,
            brand_id=brand.pk,
            data={
                "assignee": str(assignee),
                "assignee_type": type(assignee).__name__.lower(),
                "added": added,
                "removed": removed,
            },
        )


def approval_request_submit(
    *,
    campaign: Any,
    action_type: str,
    queue_role: str,
    summary: str,
    agent: str,
) -> Any:
    """Hold an agent's action for a person in ``queue_role`` to decide."""
    with transaction.atomic():
        request = ApprovalRequest.objects.create(
            campaign=campaign,
            brand_id=campaign.brand_id,
            action_type=action_type,
            queue_role=queue_role,
            summary=summary,
            requested_by_agent=agent,
        )
        audit_record(
            actor=Actor.for_agent(agent),
            action="approval.requested",
            target=request,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={"action_type": action_type, "queue_role": queue_role, "summary": summary},
        )
        _announce(campaign.pk)
    return request


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
    """Claims legal has approved for a brand. Until the claims registry exists, none are:
    every claim an agent uses goes to legal review (the safe default)."""
    return frozenset()


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
) -> GateResult:
    """The gate every delegated action passes: evaluate the policy, record the decision,
    then carry the action out, hold it for a person, or refuse it — in one transaction."""
    from campaigns.executors import executor_for
    from campaigns.models import Campaign

    try:
        action_type = ActionType(action)
    except ValueError:
        raise DomainError(f"“{action}” is not an action agents can propose.") from None
    executor = executor_for(action_type)
    executor.validate(payload)  # malformed agent output is refused before anything is written
    digest = content_hash(payload)

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        policy_row, policy = active_policy(campaign)
        decision = evaluate(
            policy,
            ProposedAction(
                action=action_type,
                by_agent=actor.is_agent,
                amount=amount,
                spend=spend,
                budget_total=campaign.budget_total,
                budget_consumed=campaign.budget_consumed,
                confidence=confidence,
                claims=frozenset(claims),
                approved_claims=approved_claims_for(campaign.brand_id),
                categories=frozenset(categories),
            ),
        )
        record = PolicyDecisionRecord.objects.create(
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
            executor.run(campaign, payload, actor)
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
            },
        )
        _announce(campaign.pk)
    return GateResult(decision=record, approval=approval)


def approval_decide(
    *,
    approval_id: int,
    user: Any,
    approve: bool,
    note: str = "",
    edited_payload: dict[str, Any] | None = None,
) -> ApprovalRequest:
    """Approve (optionally after editing) or reject one request — exactly once.

    The row lock makes concurrent decisions queue up; the second finds it decided and is
    told so. Approving executes, in the same transaction, exactly the content whose hash
    the request carries (or the reviewer's edit, recorded with its size).
    """
    from campaigns.executors import executor_for

    from . import policies

    with transaction.atomic():
        approval = (
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("campaign", "decided_by")
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
        if not approve and not note.strip():
            raise ReasonRequired("Say why you reject it: a reason is required.")
        if content_hash(approval.payload) != approval.content_hash:
            raise DomainError(
                "This request's content no longer matches what was proposed; it cannot be "
                "approved. Ask the agent to propose it again."
            )
        now = timezone.now()
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
            executor.run(approval.campaign, payload, acting)
            approval.status, approval.executed_at = ApprovalStatus.APPROVED, now
            approval.payload, approval.content_hash = payload, content_hash(payload)
        else:
            approval.status = ApprovalStatus.REJECTED
        approval.decided_by, approval.decided_at = user, now
        approval.decision_note = note.strip()
        approval.save(
            update_fields=[
                "status",
                "executed_at",
                "payload",
                "content_hash",
                "decided_by",
                "decided_at",
                "decision_note",
            ]
        )
        audit_record(
            actor=Actor.for_user(user),
            action="approval.approved" if approve else "approval.rejected",
            target=approval,
            brand_id=approval.brand_id,
            campaign_id=approval.campaign_id,
            data={**data, "executed_content_hash": approval.content_hash if approve else None},
        )
        _announce(approval.campaign_id)
    return approval


def _announce(campaign_id: int) -> None:
    from controltower.realtime import campaign_changed_on_commit

    campaign_changed_on_commit(campaign_id)
