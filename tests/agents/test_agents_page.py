"""The agents pages: each agent's record computed right on literal data, scoped to the
brands a person may see, and shown only to the roles that may read it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agents.models import AgentRun
from agents.selectors import AGENTS, agent_records
from approvals.models import ApprovalRequest, PolicyDecisionRecord
from campaigns.models import PerformanceSample
from crm.models import Contact
from governance.domain.audit import Actor
from governance.services import audit_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(days=1)


def run(campaign, agent, status, *, seconds=None, tokens=(0, 0), cost="0", error=""):
    started = T0 + timedelta(minutes=AgentRun.objects.count())
    return AgentRun.objects.create(
        campaign=campaign,
        agent=agent,
        key=f"{agent}:{AgentRun.objects.count()}",
        status=status,
        model_label="offline composer",
        attempts=1,
        started_at=started if status != "queued" else None,
        finished_at=started + timedelta(seconds=seconds) if seconds is not None else None,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cost=Decimal(cost),
        error=error,
    )


def proposal(agent_run, status, *, decided_by=None, note="", linked=True):
    """An approval request the run raised (linked through its policy decision), or for
    a request from before runs were linked, only named by agent."""
    campaign = agent_run.campaign
    decision = PolicyDecisionRecord.objects.create(
        campaign=campaign,
        brand=campaign.brand,
        action_type="publish_content",
        actor_label=f"agent {agent_run.agent}",
        outcome="approval",
        rule="claims.unapproved",
        reason="Unapproved claim",
        approver_role="Legal Reviewer",
        policy_version=0,
        content_hash="0" * 64,
        agent_run=agent_run if linked else None,
    )
    return ApprovalRequest.objects.create(
        campaign=campaign,
        brand=campaign.brand,
        action_type="publish_content",
        queue_role="Legal Reviewer",
        summary="email: a draft",
        requested_by_agent=agent_run.agent,
        decision=decision,
        status=status,
        decided_by=decided_by,
        decided_at=timezone.now() if status != "pending" else None,
        decision_note=note,
        payload={"headline": "A draft"},
        content_hash="0" * 64,
    )


def edited(approval, reviewer, effort_chars):
    """What approvals.services.approval_decide records when a reviewer edits first."""
    with transaction.atomic():
        audit_record(
            actor=Actor.for_user(reviewer),
            action="approval.approved",
            target=approval,
            brand_id=approval.brand_id,
            campaign_id=approval.campaign_id,
            data={"edit": {"effort_chars": effort_chars}},
        )


def conversions(campaign, *counts):
    for hours, n in enumerate(counts):
        PerformanceSample.objects.create(
            campaign=campaign,
            bucket_start=T0 + timedelta(hours=hours),
            conversions=n,
            spend=Decimal("10"),
        )


@pytest.fixture
def history(manager, legal_a, campaign_a, campaign_b):
    """Brand A: the content agent's literal record. Brand B: noise that must not count
    for someone who sees only brand A."""
    first = run(campaign_a, "content", "succeeded", seconds=2, tokens=(100, 200), cost="0.30")
    run(campaign_a, "content", "succeeded", seconds=4, tokens=(50, 50), cost="0.10")
    run(campaign_a, "content", "failed", seconds=6, cost="0.20", error="Model unreachable")
    run(campaign_a, "content", "escalated", seconds=60, error="<b>Broken drafts</b>")
    run(campaign_a, "content", "queued")
    run(campaign_a, "planner", "succeeded", seconds=1)
    conversions(campaign_a, 2, 4)  # 6 conversions; the content agent's cost is 0.60

    approved = proposal(first, "approved", decided_by=legal_a)
    proposal(first, "approved", decided_by=legal_a)
    proposal(first, "rejected", decided_by=legal_a, note="Too pushy")
    proposal(first, "rejected", decided_by=legal_a, note="  too   PUSHY ")
    proposal(first, "rejected", decided_by=legal_a, note="Claim not substantiated", linked=False)
    proposal(first, "changes_requested", decided_by=legal_a, note="Shorter")
    proposal(first, "pending")
    proposal(first, "expired")  # the clock's, not a person's: not in the rate
    edited(approved, legal_a, 12)

    noisy = run(campaign_b, "content", "failed", seconds=100, tokens=(9000, 9000), cost="50")
    conversions(campaign_b, 1000)
    proposal(noisy, "rejected", decided_by=manager, note="Brand B only")
    return {"approved": approved}


def record_of(user, agent="content"):
    return next(r for r in agent_records(user) if r.agent == agent)


def test_the_record_is_computed_from_its_runs_and_requests(history, legal_a):
    content = record_of(legal_a)  # sees brand A only
    assert (content.runs, content.failures, content.in_progress) == (5, 2, 1)
    assert content.median_latency == timedelta(seconds=5)  # of 2, 4, 6 and 60 s
    assert (content.input_tokens, content.output_tokens) == (150, 250)
    assert content.cost == Decimal("0.60")
    assert content.conversions == 6
    assert content.cost_per_conversion == Decimal("0.1000")
    assert (content.proposed, content.approved, content.rejected) == (8, 2, 3)
    assert content.changes_requested == 1 and content.decided == 6
    assert content.approval_rate == pytest.approx(2 / 6)
    assert [(r.text, r.count) for r in content.top_rejection_reasons] == [
        ("Too pushy", 2),
        ("Claim not substantiated", 1),
    ]
    assert (content.edited, content.median_edit_chars, content.edited_share) == (1, 12.0, 0.5)
    assert content.currency == "USD"


def test_another_brands_work_is_not_counted(history, legal_a, manager):
    narrow, wide = record_of(legal_a), record_of(manager)
    assert (narrow.runs, wide.runs) == (5, 6)
    assert (narrow.cost, wide.cost) == (Decimal("0.60"), Decimal("50.60"))
    assert (narrow.conversions, wide.conversions) == (6, 1006)
    assert "Brand B only" not in [r.text for r in narrow.top_rejection_reasons]
    assert wide.rejected == narrow.rejected + 1


def test_every_agent_is_listed_and_the_figures_have_no_invented_values(history, legal_a):
    records = agent_records(legal_a)
    assert [r.agent for r in records] == list(AGENTS)
    research = next(r for r in records if r.agent == "research")
    assert (research.runs, research.median_latency, research.approval_rate) == (0, None, None)
    assert research.cost_per_conversion is None and research.median_edit_chars is None
    planner = next(r for r in records if r.agent == "planner")
    assert planner.proposed == 0 and planner.conversions == 6
    assert planner.qualified_leads == 0 and planner.cost_per_qualified_lead is None


def test_cost_per_qualified_lead_counts_the_contacts_the_crm_agent_qualified(
    login, legal_a, manager, campaign_a, campaign_b
):
    run(campaign_a, "crm", "succeeded", seconds=3, cost="1.20")
    run(campaign_b, "crm", "succeeded", seconds=3, cost="8.00")
    for brand, email, score, by in [
        (campaign_a.brand, "a@example.com", 60, "agent:crm"),  # the threshold counts
        (campaign_a.brand, "b@example.com", 95, "agent:crm"),
        (campaign_a.brand, "c@example.com", 90, "agent:crm"),
        (campaign_a.brand, "d@example.com", 59, "agent:crm"),  # not qualified
        (campaign_a.brand, "e@example.com", 99, "agent:research"),  # not the CRM agent
        (campaign_a.brand, "f@example.com", None, ""),  # never scored
        (campaign_b.brand, "g@example.com", 99, "agent:crm"),  # another brand
    ]:
        Contact.objects.create(brand=brand, email=email, lead_score=score, scored_by=by)
    crm = record_of(legal_a, "crm")
    assert (crm.qualified_leads, crm.cost_per_qualified_lead) == (3, Decimal("0.4000"))
    assert record_of(legal_a, "research").qualified_leads == 1  # its own, however odd
    assert record_of(manager, "crm").qualified_leads == 4
    html = login(legal_a).get(reverse("agents:index")).content.decode()
    row = html[html.index('id="agent-crm"') :]
    assert '<td class="num nowrap" data-figure="cost-per-lead">0.4000 USD</td>' in row


def test_the_agents_page_shows_each_record(login, history, legal_a):
    response = login(legal_a).get(reverse("agents:index"))
    assert response.status_code == 200
    html = response.content.decode()
    row = html[html.index('id="agent-content"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="num" data-figure="runs">5</td>' in row
    assert "✖</span> 2</span>" in row  # failures, by icon and number
    assert "5.0 s" in row and "150 in" in row and "0.6000 USD" in row
    assert "0.1000 USD" in row  # cost per conversion
    assert "33 %" in row and "2 of 6 decided" in row
    assert '“Too pushy” <span class="muted small">(2 times)</span>' in row
    assert "1 of 2 approved edited" in row and "median 12 characters changed" in row
    assert f'href="{reverse("agents:detail", args=["content"])}"' in row
    assert "Brand B only" not in html


def test_the_agent_page_lists_its_runs_and_failures_escaped(login, history, legal_a, manager):
    response = login(legal_a).get(reverse("agents:detail", args=["content"]))
    assert response.status_code == 200
    html = response.content.decode()
    failures = html[html.index('id="failures-heading"') : html.index('id="runs-heading"')]
    assert "Model unreachable" in failures
    assert "&lt;b&gt;Broken drafts&lt;/b&gt;" in failures and "<b>Broken" not in html
    assert "A campaign" in html and "B campaign" not in html
    assert html.count('<tr id="run-') == 5
    assert "Offline composer — built in, not an LLM" in html

    wide = login(manager).get(reverse("agents:detail", args=["content"])).content.decode()
    assert wide.count('<tr id="run-') == 6 and "B campaign" in wide


def test_who_may_read_the_agents_pages(client, login, history, manager, legal_a, admin_user):
    assert login(manager).get(reverse("agents:index")).status_code == 200
    assert login(admin_user).get(reverse("agents:index")).status_code == 200
    assert login(legal_a).get(reverse("agents:index")).status_code == 200
    nobody = UserFactory(username="no-role")
    assert login(nobody).get(reverse("agents:index")).status_code == 403
    assert login(nobody).get(reverse("agents:detail", args=["content"])).status_code == 403
    client.logout()
    assert client.get(reverse("agents:index")).status_code == 302  # to the login page


def test_an_agent_that_does_not_exist_is_404(login, history, manager, campaign_b, legal_a):
    assert login(manager).get(reverse("agents:detail", args=["saboteur"])).status_code == 404
    # An unlisted agent that ran only on brand B does not exist for brand A's reviewer.
    run(campaign_b, "saboteur", "succeeded", seconds=1)
    assert login(manager).get(reverse("agents:detail", args=["saboteur"])).status_code == 200
    assert login(legal_a).get(reverse("agents:detail", args=["saboteur"])).status_code == 404


def test_the_records_take_a_fixed_number_of_queries(
    history, manager, campaign_a, django_assert_max_num_queries
):
    with django_assert_max_num_queries(13):
        before = record_of(manager)
    for _ in range(10):
        busy = run(campaign_a, "content", "succeeded", seconds=3)
        edited(proposal(busy, "approved", decided_by=manager), manager, 40)
    with django_assert_max_num_queries(13):
        after = record_of(manager)
    assert (after.runs, after.edited) == (before.runs + 10, before.edited + 10)
