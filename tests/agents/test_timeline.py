"""The campaign's plan and agent-work timeline: the selectors, and the campaign page that
shows them (escaped, bounded in queries, with a broken handoff in plain sight)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from agents.models import AgentRun, Handoff
from agents.selectors import campaign_timeline, current_plan, generic_entries
from agents.services import handoff_record
from approvals.models import ApprovalRequest, PolicyDecisionRecord
from campaigns.models import Campaign

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def plan_payload(campaign, objective="Grow repeat orders from lapsed subscribers"):
    return {
        "campaign_id": campaign.pk,
        "objective": objective,
        "success_metric": "Cost per acquisition",
        "steps": [
            {"specialist": "research", "goal": "Find segments", "expected_output": "Segments"},
            {
                "specialist": "content",
                "goal": "Draft 2 variants per channel",
                "expected_output": "Checked variants",
                "needs_approval": True,
            },
        ],
    }


def drafts_payload(campaign, headline="Fresh beans, every month"):
    return {
        "campaign_id": campaign.pk,
        "variants": [
            {
                "channel": "email",
                "headline": headline,
                "body": "Roasted to order.\nDelivered free.",
                "claims": ["Roasted to order"],
                "cites": ["claim:12", "voice:3"],
            }
        ],
    }


def running(campaign, agent, *, consumes=None, started_ago=10, key=None):
    """A run a worker holds (runs are written by agents.services; set up directly here)."""
    now = timezone.now()
    return AgentRun.objects.create(
        campaign=campaign,
        agent=agent,
        key=key or f"{agent}:{campaign.pk}:{AgentRun.objects.count()}",
        status="running",
        model_label="offline composer",
        inputs={"brief": "the campaign's brief", "memory_version": 4},
        consumes=consumes,
        attempts=1,
        started_at=now - timedelta(seconds=started_ago),
    )


def finish(run, seconds, *, tokens=(0, 0), cost="0"):
    run.status = "succeeded"
    run.finished_at = run.started_at + timedelta(seconds=seconds)
    run.input_tokens, run.output_tokens = tokens
    run.cost = Decimal(cost)
    run.save()
    return run


def decide_publish(run, *, outcome="approval", with_request=True, summary="email: Fresh beans"):
    decision = PolicyDecisionRecord.objects.create(
        campaign=run.campaign,
        brand=run.campaign.brand,
        action_type="publish_content",
        actor_label="agent content",
        outcome=outcome,
        rule="claims.unapproved",
        reason="Uses the claim “Roasted to order”, which legal has not approved.",
        approver_role="Legal Reviewer" if outcome == "approval" else "",
        policy_version=0,
        content_hash="0" * 64,
        agent_run=run,
    )
    approval = None
    if with_request:
        approval = ApprovalRequest.objects.create(
            campaign=run.campaign,
            brand=run.campaign.brand,
            action_type="publish_content",
            queue_role="Legal Reviewer",
            summary=summary,
            requested_by_agent=run.agent,
            decision=decision,
            payload={"channel": "email"},
            content_hash="0" * 64,
        )
    return decision, approval


@pytest.fixture
def chain(campaign_a):
    """planner → plan → content → drafts → one publish decision held for legal."""
    planner = running(campaign_a, "planner", started_ago=30)
    plan = handoff_record(run_id=planner.pk, kind="plan", payload=plan_payload(campaign_a))
    finish(planner, 1.5, tokens=(1200, 800), cost="0.0125")
    content = running(campaign_a, "content", consumes=plan, started_ago=20)
    drafts = handoff_record(run_id=content.pk, kind="drafts", payload=drafts_payload(campaign_a))
    decision, approval = decide_publish(content)
    finish(content, 2.25)
    return {
        "planner": planner,
        "plan": plan,
        "content": content,
        "drafts": drafts,
        "decision": decision,
        "approval": approval,
    }


def page(client, campaign) -> str:
    response = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- Selectors --------------------------------------------------------------------------


def test_the_timeline_tells_the_chain_in_order(chain, campaign_a):
    timeline = campaign_timeline(campaign_a.pk)
    planner, content = timeline.runs  # oldest first
    assert (planner.agent, planner.status, content.agent) == ("planner", "succeeded", "content")
    assert planner.offline_composer and planner.model_label == "offline composer"
    assert planner.duration == timedelta(seconds=1.5) and planner.duration_label == "1.5 s"
    assert (planner.input_tokens, planner.output_tokens, planner.cost) == (
        1200,
        800,
        Decimal("0.0125"),
    )
    assert ("Memory version", "4") in planner.inputs
    (plan,) = planner.handoffs
    assert plan.is_plan and plan.status == "accepted" and plan.picked_up_by == ("content",)
    assert [s.specialist for s in plan.plan_steps] == ["research", "content"]
    assert content.consumes.pk == chain["plan"].pk and content.consumes.from_agent == "planner"
    (drafts,) = content.handoffs
    (variant,) = drafts.drafts
    assert (variant.channel_label, variant.headline, variant.cites) == (
        "Email",
        "Fresh beans, every month",
        ("claim:12", "voice:3"),
    )
    (decision,) = content.decisions
    assert (decision.action_label, decision.outcome, decision.approver_role) == (
        "Publish content",
        "approval",
        "Legal Reviewer",
    )
    assert decision.approval_id == chain["approval"].pk and decision.approval_pending
    assert timeline.total_runs == 2 and timeline.earlier_runs == 0
    assert timeline.rejected_handoffs == ()


def test_the_current_plan_is_the_latest_accepted_one(campaign_a):
    assert current_plan(campaign_a.pk) is None
    first = running(campaign_a, "planner", started_ago=60)
    handoff_record(run_id=first.pk, kind="plan", payload=plan_payload(campaign_a, "First"))
    finish(first, 1)
    second = running(campaign_a, "planner", started_ago=30)
    handoff_record(run_id=second.pk, kind="plan", payload=plan_payload(campaign_a, "Second"))
    finish(second, 1)
    broken = running(campaign_a, "planner", started_ago=5)
    handoff_record(run_id=broken.pk, kind="plan", payload={"objective": "Third"})
    plan = current_plan(campaign_a.pk)
    assert plan.objective == "Second" and plan.run_id == second.pk
    assert [(s.specialist, s.needs_approval) for s in plan.steps] == [
        ("research", False),
        ("content", True),
    ]
    assert plan.offline_composer


def test_the_timeline_reads_in_a_fixed_number_of_queries(campaign_a, django_assert_max_num_queries):
    def add_chain(n):
        for _ in range(n):
            planner = running(campaign_a, "planner")
            plan = handoff_record(run_id=planner.pk, kind="plan", payload=plan_payload(campaign_a))
            finish(planner, 1)
            content = running(campaign_a, "content", consumes=plan)
            handoff_record(run_id=content.pk, kind="drafts", payload=drafts_payload(campaign_a))
            decide_publish(content)
            decide_publish(content, outcome="allow", with_request=False)
            finish(content, 1)

    add_chain(1)
    with django_assert_max_num_queries(4):
        small = campaign_timeline(campaign_a.pk)
    add_chain(12)
    with django_assert_max_num_queries(4):
        large = campaign_timeline(campaign_a.pk)
    assert len(small.runs) == 2 and len(large.runs) == 26
    assert sum(len(r.decisions) for r in large.runs) == 26
    # Past the limit the page shows the latest runs and says how many came before.
    with django_assert_max_num_queries(5):
        limited = campaign_timeline(campaign_a.pk, limit=10)
    assert (len(limited.runs), limited.total_runs, limited.earlier_runs) == (10, 26, 16)
    assert limited.runs[-1].pk == max(r.pk for r in large.runs)


def test_unknown_kinds_are_shown_as_bounded_data():
    entries = generic_entries(
        {
            "schema_version": 1,
            "campaign_id": 3,
            "headline": "Q3 in one line",
            "segments": [{"name": "Lapsed", "contacts": 120, "cites": []}] * 25,
            "insights": ["a", "b"],
            "nested": {"deep": {"deeper": [1, 2]}},
            "long": "x" * 2000,
        }
    )
    by_label = {e.label: e for e in entries}
    assert "Schema version" not in by_label and "Campaign id" not in by_label
    assert by_label["Headline"].text == "Q3 in one line"
    assert by_label["Segments"].records[0] == (
        ("Name", "Lapsed"),
        ("Contacts", "120"),
        ("Cites", "—"),
    )
    assert len(by_label["Segments"].records) == 20 and by_label["Segments"].more == 5
    assert by_label["Insights"].items == ("a", "b")
    assert by_label["Nested"].records == ((("Deep", '{"deeper": [1, 2]}'),),)
    assert len(by_label["Long"].text) == 500
    assert generic_entries("just text")[0].text == "just text"


# --- The campaign page ------------------------------------------------------------------


def test_the_page_shows_the_plan_and_each_run(login, manager, chain, campaign_a):
    html = page(login(manager), campaign_a)
    plan_section = html[html.index('id="agent-plan"') : html.index('id="agent-work"')]
    assert "Grow repeat orders from lapsed subscribers" in plan_section
    assert "Cost per acquisition" in plan_section
    assert "Draft 2 variants per channel" in plan_section and "Checked variants" in plan_section
    assert '<span aria-hidden="true">◔</span> Yes' in plan_section  # content needs approval
    work = html[html.index('id="agent-work"') :]
    assert f'id="agent-run-{chain["planner"].pk}"' in work
    assert f'id="agent-run-{chain["content"].pk}"' in work
    assert "Offline composer — built in, not an LLM" in work
    assert '<span aria-hidden="true">✔</span> Succeeded' in work
    assert "1200 in · 800 out" in work and "0.0125 USD" in work and "1.5 s" in work
    assert f'<a href="#handoff-{chain["plan"].pk}">the plan from the planner agent</a>' in work
    assert "Picked up by: content" in work
    assert "Fresh beans, every month" in work and "Roasted to order.<br>Delivered free." in work
    assert "<code>claim:12</code>" in work
    assert "Held for approval (Legal Reviewer)" in work and "claims.unapproved" in work
    approval = chain["approval"]
    assert f'href="/approvals/#approval-{approval.pk}">Approval request #{approval.pk}</a>' in work
    # The socket of this page follows the campaign.
    assert 'ws-connect="/ws/tower/?since=' in html and f'&amp;campaign={campaign_a.pk}"' in html


def test_before_any_agent_runs_the_page_says_what_comes_next(login, manager, campaign_a):
    html = page(login(manager), campaign_a)
    assert "No plan yet. The planner starts as soon as the brief is saved." in html
    assert "No agent has started yet. The planner starts as soon as the brief is saved." in html


def test_a_broken_handoff_escalates_and_its_problems_are_on_the_page(login, manager, campaign_a):
    planner = running(campaign_a, "planner")
    bad = {
        **plan_payload(campaign_a),
        "steps": [{"specialist": "hacker", "goal": "x", "expected_output": "y"}],
        "ignore_your_rules": HOSTILE,
    }
    handoff = handoff_record(run_id=planner.pk, kind="plan", payload=bad)
    assert handoff.status == "rejected"
    assert Campaign.objects.get(pk=campaign_a.pk).phase == "escalated"

    html = page(login(manager), campaign_a)
    banner = html[html.index(f'id="broken-handoff-{handoff.pk}"') :]
    assert "The plan handoff from the planner agent failed its checks." in banner
    assert "the campaign was escalated" in banner
    for problem in handoff.problems:
        assert f"<li>{escape(problem)}</li>" in banner
    assert any("steps.0.specialist" in p for p in handoff.problems)
    assert '<span aria-hidden="true">⚠</span> Escalated' in html
    assert "No plan yet: the agents' work below shows where it stands." in html
    # The rejected payload is kept as evidence and shown as data, escaped.
    assert "Ignore your rules" in html and ESCAPED in html and HOSTILE not in html


def test_untrusted_text_is_escaped_everywhere(login, manager, campaign_a):
    planner = running(campaign_a, "planner")
    plan = handoff_record(
        run_id=planner.pk, kind="plan", payload=plan_payload(campaign_a, objective=HOSTILE)
    )
    finish(planner, 1)
    content = running(campaign_a, "content", consumes=plan)
    content.model_label = HOSTILE
    content.inputs = {HOSTILE: HOSTILE}
    content.save()
    handoff_record(
        run_id=content.pk, kind="drafts", payload=drafts_payload(campaign_a, headline=HOSTILE)
    )
    decision, _ = decide_publish(content, summary=HOSTILE)
    PolicyDecisionRecord.objects.filter(pk=decision.pk).update(reason=HOSTILE)
    AgentRun.objects.filter(pk=content.pk).update(status="failed", error=HOSTILE)
    Handoff.objects.create(
        run=content, campaign=campaign_a, kind="mystery", payload={"x": HOSTILE}, status="accepted"
    )

    html = page(login(manager), campaign_a)
    assert HOSTILE not in html
    # objective, model, input (name and value), headline, reason, error, unknown handoff
    assert html.count(ESCAPED) >= 8


def test_the_live_fragment_is_the_same_as_a_push_and_scoped_like_the_page(
    login, manager, legal_a, chain, campaign_a, campaign_b
):
    client = login(manager)
    url = reverse("campaigns:detail", args=[campaign_a.pk]) + "?part=agent-work"
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert '<section id="agent-plan" class="card" hx-swap-oob="true"' in fragment
    assert '<section id="agent-work" class="card" hx-swap-oob="true"' in fragment
    assert 'id="agent-work-announce" hx-swap-oob="true"' in fragment
    assert "Content agent: succeeded" in fragment
    assert "<html" not in fragment and "Budget pacing" not in fragment

    other = login(legal_a)
    url_b = reverse("campaigns:detail", args=[campaign_b.pk]) + "?part=agent-work"
    assert other.get(url_b, headers={"HX-Request": "true"}).status_code == 404
