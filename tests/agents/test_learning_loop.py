"""The learning loop through the real services: experiments that reallocate themselves
(through the gate), lessons that go to brand memory with their evidence (through the
policy for memory), and autonomy earned from a track record (changing nothing until an
admin approves; narrowed at once after an incident)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents.models import Experiment
from agents.selectors import current_shares
from agents.services import experiment_allocate, memory_learn_from_reviews
from approvals.domain.policy import DEFAULT_POLICY, Mode, Rule, policy_to_json, with_rule
from approvals.models import ApprovalRequest, DelegationPolicy, PolicyDecisionRecord
from approvals.services import approval_decide
from campaigns.domain.phases import Phase
from campaigns.models import ContentVariant
from governance.domain.actions import ActionType
from governance.models import AuditEvent
from memory.models import MemoryEntry
from monitoring.services import telemetry_ingest
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(brand_a, manager):
    campaign = CampaignFactory(
        brief__brand=brand_a,
        brief__created_by=manager,
        brief__success_target=Decimal("28.00"),
        brief__channels=["social_ads"],
        name="Test bed",
        phase=Phase.MONITORING,
        launched_at=timezone.now() - timedelta(days=3),
        budget_total=Decimal("100000"),
    )
    for headline in ("Fresh every week", "Roasted to order, at your door"):
        ContentVariant.objects.create(
            campaign=campaign,
            channel="social_ads",
            headline=headline,
            body="…",
            status="published",
            connector="sandbox market",
            content_hash="x",
        )
    return campaign


def deliver(
    campaign, rates, *, impressions=20_000, hours=1, spend="150.00", start=None, spends=None
):
    """Report ``hours`` hours of delivery per variant at the given conversion rates."""
    variants = list(ContentVariant.objects.filter(campaign=campaign).order_by("pk"))
    start = start or timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=hours + 1
    )
    events = []
    for h in range(hours):
        for i, (variant, rate) in enumerate(zip(variants, rates, strict=True)):
            events.append(
                {
                    "event_id": f"x-{variant.pk}-{start:%d%H}-{h}",
                    "campaign_id": campaign.pk,
                    "channel": "social_ads",
                    "variant": f"#{variant.pk}",
                    "occurred_at": (start + timedelta(hours=h)).isoformat(),
                    "impressions": impressions,
                    "clicks": impressions // 50,
                    "conversions": int(impressions * rate),
                    "spend": spends[i] if spends else spend,
                    "reach": impressions // 2,
                }
            )
    telemetry_ingest(brand_id=campaign.brand_id, items=events)
    return variants


def set_rule(brand, action, rule, version=2):
    policy = with_rule(DEFAULT_POLICY, action, rule, version=version)
    DelegationPolicy.objects.filter(brand=brand, status="active").update(status="superseded")
    DelegationPolicy.objects.create(
        brand=brand, version=version, rules=policy_to_json(policy), status="active"
    )


# --- Experiments ---------------------------------------------------------------------


def test_traffic_moves_toward_what_converts_through_the_gate(live):
    first, second = deliver(live, [0.004, 0.02], impressions=5000, hours=1)
    allocation = experiment_allocate(campaign_id=live.pk, channel="social_ads")
    experiment = Experiment.objects.get(campaign=live)
    labels = [f"#{first.pk}", f"#{second.pk}"]
    assert allocation.shares[labels[1]] > allocation.shares[labels[0]] >= 0.01  # floor
    assert abs(sum(allocation.shares.values()) - 1) < 1e-9
    # Everything it was based on is recorded with it.
    arms = {a["label"]: a for a in allocation.arms}
    assert arms[labels[1]]["successes"] == 100 and arms[labels[1]]["trials"] == 5000
    assert arms[labels[1]]["low"] < arms[labels[1]]["mean"] < arms[labels[1]]["high"]
    assert arms[labels[1]]["prob_best"] > 0.99
    # A move this big (most of the traffic) is beyond the default 20 % of budget an agent
    # may reallocate alone… or not: the policy decides, and the decision is recorded.
    decision = PolicyDecisionRecord.objects.get(action_type="reallocate_budget")
    assert allocation.decision_id == decision.pk
    if allocation.status == "waiting":
        approval = ApprovalRequest.objects.get(decision=decision)
        assert current_shares(experiment, labels) == {labels[0]: 0.5, labels[1]: 0.5}
        approval_decide(approval_id=approval.pk, user=live.owner, approve=True)
        allocation.refresh_from_db()
    assert allocation.status == "applied"
    assert current_shares(experiment, labels) == allocation.shares
    assert AuditEvent.objects.filter(action="experiment.reallocated").exists()


def test_a_reallocation_beyond_the_policy_waits_for_a_person(live):
    set_rule(
        live.brand,
        ActionType.REALLOCATE_BUDGET,
        Rule(Mode.ACT_ALONE, max_budget_pct=Decimal("1"), min_confidence=0.8),
    )
    deliver(live, [0.004, 0.02], impressions=5000)
    allocation = experiment_allocate(campaign_id=live.pk, channel="social_ads")
    assert allocation.status == "waiting"
    assert "Beyond the policy's thresholds" in allocation.reason
    approval = ApprovalRequest.objects.get(action_type="reallocate_budget")
    assert approval.queue_role == "Marketing Manager" and approval.payload["shares"]
    experiment = Experiment.objects.get(campaign=live)
    assert set(current_shares(experiment, list(allocation.shares)).values()) == {0.5}


def test_a_guardrail_stops_an_arm_whatever_it_converts(live):
    # Variant one converts better but costs far above twice the brief's 28.00 per sale.
    first, _ = deliver(live, [0.02, 0.01], impressions=1000, spends=["1500.00", "100.00"])
    allocation = experiment_allocate(campaign_id=live.pk, channel="social_ads")
    arms = {a["label"]: a for a in allocation.arms}
    assert "CPA" in arms[f"#{first.pk}"]["stopped"]
    assert allocation.shares[f"#{first.pk}"] == 0.0


def test_a_winner_is_named_after_the_minimum_sample_and_its_lesson_goes_to_memory(live):
    set_rule(live.brand, ActionType.UPDATE_BRAND_MEMORY, Rule(Mode.ACT_ALONE))
    deliver(live, [0.005, 0.02], impressions=2000)
    assert experiment_allocate(campaign_id=live.pk, channel="social_ads")
    experiment = Experiment.objects.get(campaign=live)
    assert experiment.status == "running"  # 2,000 impressions each: below the 4,000 needed
    deliver(live, [0.005, 0.02], impressions=3000, start=timezone.now() - timedelta(hours=5))
    experiment_allocate(campaign_id=live.pk, channel="social_ads")
    experiment.refresh_from_db()
    second = ContentVariant.objects.order_by("pk").last()
    assert (experiment.status, experiment.winner) == ("concluded", f"#{second.pk}")

    angle = MemoryEntry.objects.get(brand=live.brand, kind="working_angle")
    assert "“Roasted to order, at your door”" in angle.text and "won its test" in angle.text
    assert angle.evidence["campaign_id"] == live.pk
    assert angle.evidence["sample_size"] == 10_000 and angle.evidence["lift_pct"] > 200
    assert MemoryEntry.objects.get(brand=live.brand, kind="failure_mode").text.startswith(
        "“Fresh every week” lost its test"
    )
    # The next brief's drafts lead with what was learned, and cite it.
    from agents.providers.offline import compose_drafts
    from agents.specialists.facts import brief_facts

    drafts = compose_drafts(brief_facts(live))
    led = [v for v in drafts.variants if angle.ref in v.cites]
    assert any(v.body.startswith("Roasted to order, at your door") for v in led)


def test_a_lesson_waits_for_review_when_the_brand_says_so(live):
    # The default policy: agents may only recommend memory changes.
    deliver(live, [0.005, 0.02], impressions=5000)
    experiment_allocate(campaign_id=live.pk, channel="social_ads")
    assert not MemoryEntry.objects.filter(brand=live.brand, kind="working_angle").exists()
    lesson = ApprovalRequest.objects.get(
        action_type="update_brand_memory", payload__kind="working_angle"
    )
    assert lesson.is_recommendation and lesson.payload["evidence"]["lift_pct"] > 0
    approval_decide(approval_id=lesson.pk, user=live.owner, approve=True)
    assert MemoryEntry.objects.filter(brand=live.brand, kind="working_angle").exists()


def test_reviewers_reasons_become_failure_modes_and_prohibited_phrases(live, manager):
    from approvals.services import action_propose
    from governance.domain.audit import Actor

    set_rule(live.brand, ActionType.UPDATE_BRAND_MEMORY, Rule(Mode.ACT_ALONE))
    for n in range(2):
        draft = action_propose(
            campaign_id=live.pk,
            action="publish_content",
            payload={
                "channel": "email",
                "headline": f"Cheapest beans {n}",
                "body": "…",
                "claims": [],
            },
            actor=Actor.for_agent("content"),
            summary="A draft",
        ).approval
        approval_decide(
            approval_id=draft.pk,
            user=manager,
            approve=False,
            note='Never call us "cheapest": we compete on freshness.',
        )
    memory_learn_from_reviews(brand_id=live.brand_id)
    phrase = MemoryEntry.objects.get(brand=live.brand, kind="prohibited_phrase")
    assert phrase.text == "cheapest"
    mode = MemoryEntry.objects.get(brand=live.brand, kind="failure_mode")
    assert "we compete on freshness" in mode.text
    assert "Rejected 2 time(s)" in mode.evidence["note"]
    assert memory_learn_from_reviews(brand_id=live.brand_id) == []  # each lesson once
    # The learned phrase now holds back any draft that uses it.
    from memory.domain.compliance import blocks, check_variant
    from memory.selectors import brand_rules

    findings = check_variant(
        channel="email",
        headline="The cheapest beans",
        body="…",
        claims=[],
        rules=brand_rules(live.brand_id),
    )
    assert blocks(findings)


# --- Autonomy ------------------------------------------------------------------------


def drafts_approved(campaign, reviewer, n):
    from approvals.services import action_propose
    from governance.domain.audit import Actor

    for i in range(n):
        draft = action_propose(
            campaign_id=campaign.pk,
            action="publish_content",
            payload={"channel": "email", "headline": f"Fresh {i}", "body": "…", "claims": []},
            actor=Actor.for_agent("content"),
            summary=f"Draft {i}",
        ).approval
        approval_decide(approval_id=draft.pk, user=reviewer, approve=True)


def test_an_earned_widening_is_recommended_and_changes_nothing_until_an_admin_approves(
    live, manager, admin_user, brand_a
):
    from approvals.domain.autonomy import EarningRules
    from approvals.services import active_policy, autonomy_review

    others = [
        CampaignFactory(brief__brand=brand_a, brief__created_by=manager, phase=Phase.MONITORING)
        for _ in range(2)
    ]
    for campaign in [live, *others]:
        drafts_approved(campaign, manager, 4)
    rules = EarningRules(min_decided=12, min_cycles=3)
    done = autonomy_review(brand_ids=[brand_a.pk], rules=rules)
    assert done == [f"recommended widening publish_content for content at brand {brand_a.pk}"]
    recommendation = ApprovalRequest.objects.get(action_type="adjust_autonomy")
    assert recommendation.queue_role == "Admin"
    assert recommendation.payload["from_mode"] == "needs_approval"
    assert recommendation.payload["to_mode"] == "act_alone"
    assert "12 decided" in recommendation.payload["evidence"]["summary"]
    # Nothing changed yet…
    _, policy = active_policy(live)
    assert policy.rule_for(ActionType.PUBLISH_CONTENT).mode == Mode.NEEDS_APPROVAL
    assert autonomy_review(brand_ids=[brand_a.pk], rules=rules) == []  # one at a time
    # The agents page shows the record, how far it is from the next step, and the
    # recommendation waiting for an admin.
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("agents:index")).content.decode()
    section = page.split('id="autonomy"')[1].split("</section>")[0]
    assert f"widening recommended (#{recommendation.pk})" in section
    assert "12 decided in 30 days" in section and "Approved unedited" in section
    # …until an admin approves it.
    approval_decide(approval_id=recommendation.pk, user=admin_user, approve=True)
    row, policy = active_policy(live)
    assert policy.rule_for(ActionType.PUBLISH_CONTENT).mode == Mode.ACT_ALONE
    assert row.basis["agent"] == "content" and row.basis["evidence"]["decided"] == 12


def test_an_incident_steps_an_agent_down_at_once(live, manager, brand_a):
    from agents.services import agent_run_claim, agent_run_escalate, agent_work_request
    from approvals.services import active_policy, autonomy_review

    set_rule(brand_a, ActionType.PUBLISH_CONTENT, Rule(Mode.ACT_ALONE))
    from approvals.services import action_propose
    from governance.domain.audit import Actor

    action_propose(
        campaign_id=live.pk,
        action="publish_content",
        payload={"channel": "email", "headline": "Fresh", "body": "…", "claims": []},
        actor=Actor.for_agent("content"),
        summary="Draft",
    )
    run = agent_work_request(campaign_id=live.pk, agent="content", key="c")
    agent_run_escalate(
        claim=agent_run_claim(run_id=run.pk), reason="bad handoff", kind="handoff_invalid"
    )
    done = autonomy_review(brand_ids=[brand_a.pk])
    assert f"narrowed publish_content for content at brand {brand_a.pk}" in done
    row, policy = active_policy(live)
    assert policy.rule_for(ActionType.PUBLISH_CONTENT).mode == Mode.NEEDS_APPROVAL
    assert "incident" in row.note.lower() and row.basis["to"] == "needs_approval"
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(manager)
    page = client.get(reverse("agents:index")).content.decode()
    assert f"policy version {row.version}" in page and "narrowed for the content agent" in page
    assert AuditEvent.objects.filter(action="policy.autonomy_narrowed").exists()


def test_the_campaign_page_shows_each_test_with_its_charts(login, live, manager):
    from django.urls import reverse

    deliver(live, [0.004, 0.02], impressions=5000)
    experiment_allocate(campaign_id=live.pk, channel="social_ads")
    page = login(manager).get(reverse("campaigns:detail", args=[live.pk])).content.decode()
    section = page.split('id="experiments"')[1].split("</section>")[0]
    experiment = Experiment.objects.get(campaign=live)
    for chart in ("intervals", "best", "shares"):
        assert f'data-figure="chart-{chart}-{experiment.pk}-data"' in section
        assert f'id="chart-{chart}-{experiment.pk}-data"' in section  # the figure's JSON
    assert "chance of being best" in section
    assert "Roasted to order, at your door" in section
    from agents.models import AllocationRound

    assert AllocationRound.objects.get().get_status_display().lower() in section
