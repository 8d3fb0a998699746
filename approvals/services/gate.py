"""The delegation-policy gate: every delegated action passes ``action_propose``, which
evaluates the policy in force, records the decision, and carries the action out, holds it
for a person (an approval request, its reviewers told), or refuses it — in one transaction.

Every write here follows the lock order in ``governance.services``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.db import transaction

from governance import events
from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from governance.domain.roles import Role
from governance.services import audit_record

from ..domain.decisions import content_hash
from ..domain.impact import facts_to_json
from ..domain.policy import (
    DEFAULT_POLICY,
    Outcome,
    Policy,
    ProposedAction,
    evaluate,
    policy_from_json,
)
from ..models import ApprovalRequest, DelegationPolicy, PolicyDecisionRecord, PolicyStatus
from .announce import announce_changed
from .links import approval_notify_reviewers


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
        announce_changed(campaign.pk, approval.pk, created=True)
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
        approval_notify_reviewers(approval)
    return GateResult(decision=record, approval=approval)
