"""What agents read (brand rules, approved claims, memory facts) and how their memory
changes go through the delegation-policy gate."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.domain.policy import DEFAULT_POLICY, Mode, Rule, policy_to_json, with_rule
from approvals.models import ApprovalRequest, DelegationPolicy, PolicyDecisionRecord
from approvals.services import AlreadyDecided, action_propose, approval_decide, approved_claims_for
from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from governance.domain.roles import Role
from governance.executors import PayloadInvalid
from governance.models import AuditEvent
from memory.models import Claim, MemoryEntry
from memory.selectors import (
    MemoryFact,
    approved_claim_wordings,
    brand_rules,
    memory_for_agents,
)
from memory.services import memory_entry_retire, memory_entry_revise

from .builders import TODAY, add, approved, propose

pytestmark = pytest.mark.django_db
LEARNING = Actor.for_agent("learning")


class TestWhatAgentsRead:
    def test_brand_rules_come_from_active_memory_and_live_claims(
        self, brand_a, brand_b, manager, legal_a, legal_b
    ):
        add(brand_a, manager, kind="prohibited_phrase", text="best coffee in the world")
        add(brand_a, manager, kind="prohibited_claim", text="Clinically proven")
        old = add(brand_a, manager, kind="prohibited_phrase", text="cheap")
        memory_entry_retire(
            brand_id=brand_a.pk,
            entry_id=old.pk,
            note="We are the value brand now",
            actor=Actor.for_user(manager),
        )
        approved(
            brand_a,
            manager,
            legal_a,
            variants=["Roasted when you order"],
            disclaimers=["Within 2 business days.", "US only."],
        )
        approved(brand_a, manager, legal_a, "Free shipping over $40")
        propose(brand_a, manager, legal_a, "At your door in 48 hours")  # pending
        approved(brand_b, manager, legal_b, "Brand B's own claim")

        rules = brand_rules(
            brand_a.pk, today=TODAY, extra_prohibited_claims=["Cures colds", "clinically proven."]
        )
        assert rules.prohibited_phrases == ("best coffee in the world",)
        assert rules.prohibited_claims == ("Clinically proven", "Cures colds")
        assert set(rules.approved_claims) == {
            "Roasted to order",
            "Roasted when you order",
            "Free shipping over $40",
        }
        assert rules.required_disclaimers == {
            "Roasted to order": ("Within 2 business days.", "US only."),
            "Roasted when you order": ("Within 2 business days.", "US only."),
        }

    def test_an_expired_claim_is_unapproved_from_its_expiry_date(self, brand_a, manager, legal_a):
        claim = approved(brand_a, manager, legal_a, days=30)
        day_before = claim.expires_on - timedelta(days=1)
        assert approved_claim_wordings(brand_a.pk, today=day_before) == {"Roasted to order"}
        assert approved_claim_wordings(brand_a.pk, today=claim.expires_on) == frozenset()
        assert brand_rules(brand_a.pk, today=claim.expires_on).approved_claims == ()
        assert [f.ref for f in memory_for_agents(brand_a.pk, today=claim.expires_on)] == []

    def test_memory_for_agents_is_ordered_by_kind_then_age_with_citable_refs(
        self, brand_a, manager, legal_a, campaign_a
    ):
        angle = add(
            brand_a,
            manager,
            kind="working_angle",
            text="Lead with freshness",
            evidence={"lift_pct": 18.4, "sample_size": 12400, "campaign_id": campaign_a.pk},
        )
        rule = add(brand_a, manager, kind="voice_rule", text="Warm, never snobbish.")
        segment = add(brand_a, manager, kind="segment", text="Home brewers")
        retired = add(brand_a, manager, kind="segment", text="Students")
        memory_entry_retire(
            brand_id=brand_a.pk,
            entry_id=retired.pk,
            note="Not a segment any more",
            actor=Actor.for_user(manager),
        )
        claim = approved(brand_a, manager, legal_a, disclaimers=["Within 2 business days."])

        facts = memory_for_agents(brand_a.pk, today=TODAY)
        assert facts == [
            MemoryFact(rule.ref, "voice_rule", "Warm, never snobbish."),
            MemoryFact(segment.ref, "segment", "Home brewers"),
            MemoryFact(
                angle.ref,
                "working_angle",
                "Lead with freshness",
                f"+18.4% lift, n=12,400, campaign #{campaign_a.pk}",
            ),
            MemoryFact(
                claim.ref,
                "approved_claim",
                "Roasted to order",
                f"in US, expires on {claim.expires_on.isoformat()}",
                ("Within 2 business days.",),
            ),
        ]


def claim_on_real_dates(brand, proposer, owner, wording, *, days):
    """The gate reads the registry as of the real today."""
    return approved(brand, proposer, owner, wording, days=days, today=timezone.localdate())


class TestTheGateReadsTheRegistry:
    def publish(self, campaign, claim):
        return action_propose(
            campaign_id=campaign.pk,
            action="publish_content",
            payload={"channel": "email", "headline": "Fresh", "body": claim, "claims": [claim]},
            actor=Actor.for_agent("content"),
            summary="email",
            claims=[claim],
        ).approval

    def test_a_claim_legal_approved_once_needs_no_new_legal_review(
        self, campaign_a, manager, legal_a
    ):
        claim_on_real_dates(campaign_a.brand, manager, legal_a, "Roasted to order", days=30)
        assert approved_claims_for(campaign_a.brand_id) == {"Roasted to order"}
        reused = self.publish(campaign_a, "Roasted to order")
        assert reused.queue_role == Role.MANAGER.value  # publishing still needs a manager
        assert reused.decision.rule == "publish_content.needs_approval"
        fresh = self.publish(campaign_a, "Calms your mornings")
        assert (fresh.queue_role, fresh.decision.rule) == (Role.LEGAL.value, "claims.unapproved")

    def test_an_expired_claim_goes_back_to_legal(self, campaign_a, manager, legal_a):
        claim = claim_on_real_dates(campaign_a.brand, manager, legal_a, "Roasted to order", days=5)
        Claim.objects.filter(pk=claim.pk).update(expires_on=timezone.localdate())
        assert approved_claims_for(campaign_a.brand_id) == frozenset()
        assert self.publish(campaign_a, "Roasted to order").queue_role == Role.LEGAL.value


def set_memory_rule(brand, mode):
    policy = with_rule(DEFAULT_POLICY, ActionType.UPDATE_BRAND_MEMORY, Rule(mode), version=2)
    DelegationPolicy.objects.create(
        brand=brand, version=2, rules=policy_to_json(policy), status="active"
    )


def propose_memory(campaign, payload):
    return action_propose(
        campaign_id=campaign.pk,
        action="update_brand_memory",
        payload=payload,
        actor=LEARNING,
        summary="Remember what worked",
        evidence={"test": "subject lines, 2 weeks"},
    )


ANGLE = {
    "operation": "create",
    "kind": "working_angle",
    "text": "Lead with freshness",
    "evidence": {"lift_pct": 18.4, "sample_size": 12400},
    "reason": "Won the subject-line test by 18 %",
}


class TestAgentChangesThroughTheGate:
    def test_when_the_policy_lets_agents_act_alone_the_entry_is_written_at_once(self, campaign_a):
        set_memory_rule(campaign_a.brand, Mode.ACT_ALONE)
        result = propose_memory(campaign_a, ANGLE)
        assert result.executed and result.approval is None
        entry = MemoryEntry.objects.get()
        version = entry.versions.get()
        assert (entry.brand_id, entry.kind, entry.evidence) == (
            campaign_a.brand_id,
            "working_angle",
            {"lift_pct": 18.4, "sample_size": 12400},
        )
        assert (version.changed_by_agent, version.changed_by_user_id) == ("learning", None)
        assert version.authorization == f"policy decision #{result.decision.pk}"
        assert version.change_note == ANGLE["reason"]
        event = AuditEvent.objects.get(action="memory.entry_created")
        assert (event.actor_agent, event.campaign_id) == ("learning", campaign_a.pk)

    def test_when_it_needs_approval_nothing_is_written_until_approved_then_once(
        self, campaign_a, manager
    ):
        set_memory_rule(campaign_a.brand, Mode.NEEDS_APPROVAL)
        result = propose_memory(campaign_a, ANGLE)
        assert not result.executed and result.approval.queue_role == Role.MANAGER.value
        assert MemoryEntry.objects.count() == 0

        approval_decide(approval_id=result.approval.pk, user=manager, approve=True)
        with pytest.raises(AlreadyDecided):
            approval_decide(approval_id=result.approval.pk, user=manager, approve=True)
        version = MemoryEntry.objects.get().versions.get()
        assert version.changed_by_agent == "learning"  # approved: the agent acts
        assert version.authorization == f"approval #{result.approval.pk}"
        assert AuditEvent.objects.filter(action="memory.entry_created").count() == 1

    def test_by_default_agents_only_recommend_and_the_person_who_adopts_it_writes(
        self, campaign_a, manager
    ):
        result = propose_memory(campaign_a, ANGLE)
        approval = result.approval
        assert approval.is_recommendation and MemoryEntry.objects.count() == 0
        approval_decide(approval_id=approval.pk, user=manager, approve=True)
        version = MemoryEntry.objects.get().versions.get()
        assert (version.changed_by_user, version.changed_by_agent) == (manager, "")

    def test_a_rejected_proposal_writes_nothing(self, campaign_a, manager):
        approval = propose_memory(campaign_a, ANGLE).approval
        approval_decide(approval_id=approval.pk, user=manager, approve=False, note="Too early")
        assert MemoryEntry.objects.count() == 0

    def test_a_revision_of_an_entry_changed_since_is_refused_at_approval(self, campaign_a, manager):
        entry = add(campaign_a.brand, manager, text="Warm.")
        approval = propose_memory(
            campaign_a,
            {
                "operation": "revise",
                "entry": entry.ref,
                "text": "Warm and plain.",
                "reason": "Plainer reads better",
                "based_on_version": 1,
            },
        ).approval
        memory_entry_revise(
            brand_id=campaign_a.brand_id,
            entry_id=entry.pk,
            text="Warm!",
            note="Punchier",
            actor=Actor.for_user(manager),
        )
        with pytest.raises(DomainError, match="changed since this edit began"):
            approval_decide(approval_id=approval.pk, user=manager, approve=True)
        assert MemoryEntry.objects.get().text == "Warm!"
        assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"

    def test_malformed_agent_output_is_refused_before_anything_is_recorded(self, campaign_a):
        set_memory_rule(campaign_a.brand, Mode.ACT_ALONE)
        bad = {**ANGLE, "evidence": {"lift_pct": 18.4}}
        with pytest.raises(PayloadInvalid, match="A lift means little without its sample size"):
            propose_memory(campaign_a, bad)
        with pytest.raises(PayloadInvalid, match="Unknown memory operation"):
            propose_memory(campaign_a, {"operation": "forget", "reason": "because"})
        assert PolicyDecisionRecord.objects.count() == 0 and MemoryEntry.objects.count() == 0

    def test_an_agent_cannot_touch_another_brands_memory(self, campaign_a, brand_b, manager):
        set_memory_rule(campaign_a.brand, Mode.ACT_ALONE)
        other = add(brand_b, manager, text="Brand B's rule")
        with pytest.raises(DomainError, match=f"{other.ref} is not in Brand A's memory"):
            propose_memory(
                campaign_a, {"operation": "retire", "entry": other.ref, "reason": "Out of date"}
            )
        assert MemoryEntry.objects.get().status == "active"
        assert PolicyDecisionRecord.objects.count() == 0  # the gate's transaction rolled back
