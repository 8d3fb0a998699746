"""Claims cleared in the registry: requests that waited for legal only because of claims
legal has now approved go where the policy sends them today. Run by the receiver of
``events.claims_cleared`` (``approvals.subscribers``), in the claim review's transaction.

Every write here follows the lock order in ``governance.services``.
"""

from __future__ import annotations

from dataclasses import replace

from django.db import transaction
from django.utils import timezone

from governance import events
from governance.domain.audit import Actor
from governance.services import audit_record

from ..domain.impact import facts_from_json, facts_to_json
from ..domain.policy import Outcome, evaluate
from ..models import ApprovalRequest, ApprovalStatus, PolicyDecisionRecord
from .announce import announce_changed, announce_settled
from .gate import active_policy, approved_claims_for
from .links import approval_notify_reviewers


def approvals_reconsider_claims(*, brand_id: int, actor: Actor) -> list[int]:
    """Legal approved a claim in the registry: requests that wait for legal *only*
    because of claims that are now approved go where the policy sends them today (a
    draft to the marketing manager's queue), with the new decision recorded and its
    queue's clock started afresh. One decision on the claim instead of one per draft.
    The ids moved."""
    moved: list[int] = []
    with transaction.atomic():
        approved = approved_claims_for(brand_id)
        # TRICKY: skip_locked, not a wait. The claim's review has written its audit
        # event already (it holds the audit chain head), and a head-holder must never
        # wait for a row (lock order, ``governance.services``); a request locked right
        # now is a person deciding it, and their answer wins.
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
            # Legal's "waiting for you" notices: nothing waits for them.
            announce_settled(approval.pk)
            approval_notify_reviewers(approval)
            announce_changed(approval.campaign_id)
            moved.append(approval.pk)
    return moved
