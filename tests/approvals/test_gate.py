"""The gate and the approval decision: every action recorded, held or carried out;
approvals executed exactly once, exactly as approved, by the right people."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from approvals.domain.decisions import content_hash
from approvals.domain.policy import DEFAULT_POLICY, Mode, Rule, policy_to_json, with_rule
from approvals.models import ApprovalRequest, DelegationPolicy, PolicyDecisionRecord
from approvals.services import AlreadyDecided, action_propose, approval_decide
from campaigns.models import Campaign
from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted, ReasonRequired
from governance.domain.roles import Role
from governance.models import AuditEvent
from tests.factories import UserFactory

PLANNER = Actor.for_agent("planner")
LAUNCH = {"reason": "Creative approved by QA; audience ready"}


def launch(campaign, **kwargs):
    return action_propose(
        campaign_id=campaign.pk,
        action="launch_campaign",
        payload=kwargs.pop("payload", LAUNCH),
        actor=kwargs.pop("actor", PLANNER),
        summary="Launch the campaign",
        **kwargs,
    )


def phase_of(campaign):
    return Campaign.objects.get(pk=campaign.pk).phase


@pytest.mark.django_db
class TestGate:
    def test_an_autonomous_action_runs_at_once_with_its_decision_recorded(self, campaign_a):
        result = action_propose(
            campaign_id=campaign_a.pk,
            action="pause",
            payload={"reason": "Broken landing page link"},
            actor=Actor.for_agent("performance"),
            summary="Pause while the link is fixed",
        )
        assert result.executed and result.approval is None
        assert phase_of(campaign_a) == "paused"
        record = PolicyDecisionRecord.objects.get()
        assert (record.outcome, record.rule, record.policy_version) == (
            "allow",
            "pause.act_alone",
            0,
        )
        actions = list(AuditEvent.objects.values_list("action", flat=True))
        assert actions == ["policy.decided", "campaign.phase_changed"]

    def test_an_action_needing_approval_waits_in_the_managers_queue_unexecuted(self, campaign_a):
        result = launch(campaign_a, confidence=0.82, evidence={"brief": campaign_a.brief_id})
        approval = result.approval
        assert not result.executed and phase_of(campaign_a) == "briefing"
        assert approval.queue_role == Role.MANAGER.value and approval.status == "pending"
        assert approval.content_hash == content_hash(LAUNCH)
        assert approval.decision.rule == "launch_campaign.needs_approval"
        assert approval.decision.reason == "Agents need approval to launch campaign."

    def test_an_unapproved_claim_goes_to_legal(self, campaign_a):
        approval = launch(campaign_a, claims=["Clinically proven"]).approval
        assert approval.queue_role == Role.LEGAL.value
        assert "“Clinically proven”" in approval.decision.reason

    def test_a_refusal_is_recorded_and_nothing_runs(self, campaign_a, admin_user):
        strict = with_rule(DEFAULT_POLICY, ActionType.PAUSE, Rule(Mode.FORBIDDEN), version=2)
        DelegationPolicy.objects.create(
            brand=campaign_a.brand, version=2, rules=policy_to_json(strict), status="active"
        )
        result = action_propose(
            campaign_id=campaign_a.pk,
            action="pause",
            payload={"reason": "x"},
            actor=PLANNER,
            summary="Pause",
        )
        assert result.refused and not result.executed and result.approval is None
        assert (result.decision.rule, result.decision.policy_version) == ("pause.forbidden", 2)
        assert phase_of(campaign_a) == "briefing"
        assert PolicyDecisionRecord.objects.count() == 1

    @pytest.mark.parametrize(
        ("action", "payload", "message"),
        [
            ("launch_campaign", {}, "must say why"),
            ("change_budget", {"reason": "more reach", "new_total": "lots"}, "needs “new_total”"),
            ("change_budget", {"reason": "r", "new_total": "-5"}, "positive number"),
            ("take_over_the_world", {"reason": "r"}, "not an action agents can propose"),
            ("send_email", {"reason": "r"}, "cannot be carried out yet"),
        ],
    )
    def test_malformed_agent_output_is_refused_and_writes_nothing(
        self, campaign_a, action, payload, message
    ):
        with pytest.raises(DomainError, match=message):
            action_propose(
                campaign_id=campaign_a.pk,
                action=action,
                payload=payload,
                actor=PLANNER,
                summary="s",
            )
        assert PolicyDecisionRecord.objects.count() == 0 and AuditEvent.objects.count() == 0


@pytest.mark.django_db
class TestDecide:
    def test_approving_executes_once_and_only_once(self, campaign_a, manager):
        approval = launch(campaign_a).approval
        decided = approval_decide(approval_id=approval.pk, user=manager, approve=True)
        assert decided.status == "approved" and decided.executed_at is not None
        assert phase_of(campaign_a) == "execution"
        with pytest.raises(AlreadyDecided, match="already approved by manager"):
            approval_decide(approval_id=approval.pk, user=manager, approve=True)
        executed = AuditEvent.objects.filter(action="campaign.phase_changed")
        assert executed.count() == 1
        assert executed.get().actor_label == "agent:planner"  # the agent acts, approved

    def test_rejecting_needs_a_reason_and_runs_nothing(self, campaign_a, manager):
        approval = launch(campaign_a).approval
        with pytest.raises(ReasonRequired):
            approval_decide(approval_id=approval.pk, user=manager, approve=False, note=" ")
        approval_decide(
            approval_id=approval.pk, user=manager, approve=False, note="Audience not ready"
        )
        assert phase_of(campaign_a) == "briefing"
        assert ApprovalRequest.objects.get().status == "rejected"

    def test_separation_of_duties(self, campaign_a, manager, legal_a, brand_b):
        approval = launch(campaign_a).approval  # manager queue, brand A
        other_brand_manager = UserFactory(role=Role.MANAGER, brands=[brand_b])
        admin = UserFactory(role=Role.ADMIN)
        cases = [
            (legal_a, "in the Marketing Manager queue, and you are not a Marketing Manager"),
            (other_brand_manager, "not assigned to this brand"),
            (admin, "you are not a Marketing Manager"),
        ]
        for user, message in cases:
            with pytest.raises(NotPermitted, match=message):
                approval_decide(approval_id=approval.pk, user=user, approve=True)
        raised = launch(campaign_a, actor=Actor.for_user(manager)).decision
        assert raised.outcome == "allow"  # a person launching is not held by agent policy
        own = ApprovalRequest.objects.create(
            campaign=campaign_a,
            brand=campaign_a.brand,
            action_type="launch_campaign",
            queue_role=Role.MANAGER.value,
            summary="s",
            requested_by_agent="",
            requested_by_user=manager,
            payload=LAUNCH,
            content_hash=content_hash(LAUNCH),
        )
        with pytest.raises(NotPermitted, match="cannot decide a request you raised"):
            approval_decide(approval_id=own.pk, user=manager, approve=True)
        assert ApprovalRequest.objects.get(pk=approval.pk).status == "pending"

    def test_content_changed_after_the_request_cannot_be_approved(self, campaign_a, manager):
        approval = launch(campaign_a).approval
        ApprovalRequest.objects.filter(pk=approval.pk).update(
            payload={"reason": "Something else entirely"}
        )
        with pytest.raises(DomainError, match="no longer matches what was proposed"):
            approval_decide(approval_id=approval.pk, user=manager, approve=True)
        assert phase_of(campaign_a) == "briefing"

    def test_edit_then_approve_executes_the_edit_and_counts_the_effort(self, campaign_a, manager):
        campaign_a.budget_total = Decimal("10000")
        campaign_a.save()
        approval = action_propose(
            campaign_id=campaign_a.pk,
            action="change_budget",
            payload={"new_total": "15000", "reason": "Strong CPA"},
            actor=Actor.for_agent("performance"),
            summary="Raise budget",
            amount=Decimal(5000),
        ).approval
        edited = {"new_total": "12000", "reason": "Strong CPA"}
        approval_decide(approval_id=approval.pk, user=manager, approve=True, edited_payload=edited)
        assert Campaign.objects.get(pk=campaign_a.pk).budget_total == Decimal("12000")
        approved = AuditEvent.objects.get(action="approval.approved")
        assert approved.data["edit"]["content_hash_after"] == content_hash(edited)
        assert approved.data["edit"]["effort_chars"] > 0
        assert ApprovalRequest.objects.get().content_hash == content_hash(edited)

    def test_a_recommendation_is_carried_out_by_the_person_who_adopts_it(self, campaign_a, manager):
        approval = ApprovalRequest.objects.create(
            campaign=campaign_a,
            brand=campaign_a.brand,
            action_type="pause",
            queue_role=Role.MANAGER.value,
            summary="s",
            requested_by_agent="performance",
            is_recommendation=True,
            payload={"reason": "Fatigue"},
            content_hash=content_hash({"reason": "Fatigue"}),
        )
        approval_decide(approval_id=approval.pk, user=manager, approve=True)
        moved = AuditEvent.objects.get(action="campaign.phase_changed")
        assert moved.actor_user == manager


@pytest.mark.django_db(transaction=True)
def test_two_decisions_racing_on_two_connections_execute_once(campaign_a, manager, brand_a):
    approval = launch(campaign_a).approval
    second_manager = UserFactory(role=Role.MANAGER, brands=[brand_a])
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def decide(user, approve):
        try:
            barrier.wait(timeout=10)
            approval_decide(
                approval_id=approval.pk,
                user=user,
                approve=approve,
                note="no" if not approve else "",
            )
            outcomes[user.username] = "won"
        except AlreadyDecided as exc:
            outcomes[user.username] = str(exc)
        finally:
            connection.close()  # each thread had its own connection

    threads = [
        threading.Thread(target=decide, args=(manager, True)),
        threading.Thread(target=decide, args=(second_manager, False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()).count("won") == 1
    loser = next(v for v in outcomes.values() if v != "won")
    assert loser.startswith("This request was already")
    final = ApprovalRequest.objects.get(pk=approval.pk)
    executions = AuditEvent.objects.filter(action="campaign.phase_changed").count()
    assert executions == (1 if final.status == "approved" else 0)
    assert (
        AuditEvent.objects.filter(action__in=["approval.approved", "approval.rejected"]).count()
        == 1
    )
