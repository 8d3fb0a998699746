"""The campaign detail page over HTTP: charts, flags, SLAs, approvals and the audit trail."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.services import action_propose, approval_decide
from campaigns import services
from campaigns.domain.phases import Phase
from campaigns.models import Campaign, PerformanceSample, SlaStatus
from governance.domain.audit import Actor
from monitoring import services as monitoring_services
from monitoring.models import AnomalyFlag, AnomalyKind, FlagResponse, FlagState, SlaKind
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

PLOTLY = "vendor/plotly/plotly-2.35.3.min.js"
AGENT = Actor.for_agent("performance")


@pytest.fixture
def live_campaign(brand_a, manager):
    """A campaign in monitoring, launched two days ago, judged by CPA against 28.00."""
    return CampaignFactory(
        brief__brand=brand_a,
        brief__created_by=manager,
        brief__success_target=Decimal("28.00"),
        name="Live campaign",
        phase=Phase.MONITORING,
        launched_at=timezone.now() - timedelta(days=2),
        budget_consumed=Decimal("310.00"),
    )


def add_samples(campaign, rows):
    """rows: (hours ago, spend, conversions); telemetry is a read model, set up directly."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    PerformanceSample.objects.bulk_create(
        PerformanceSample(
            campaign=campaign,
            bucket_start=now - timedelta(hours=hours_ago),
            impressions=10_000,
            clicks=120,
            conversions=conversions,
            spend=Decimal(spend),
        )
        for hours_ago, spend, conversions in rows
    )


def figure(page: str, chart: str) -> dict:
    found = re.search(
        rf'<script id="chart-{chart}-data" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, f"no data for the {chart} chart"
    return json.loads(found.group(1))


def detail(client, campaign) -> str:
    response = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_charts_render_from_the_samples(login, manager, live_campaign):
    add_samples(live_campaign, [(2, "100.00", 4), (1, "90.00", 0), (0, "120.00", 3)])

    page = detail(login(manager), live_campaign)

    assert '<div id="chart-pacing" class="chart" data-figure="chart-pacing-data"' in page
    assert '<div id="chart-performance" class="chart"' in page
    pacing = {trace["name"]: trace for trace in figure(page, "pacing")["data"]}
    assert pacing["Actual spend"]["y"] == [100.0, 190.0, 310.0]  # cumulative
    assert pacing["Planned spend"]["y"][0] == 0.0
    assert pacing["Planned spend"]["y"][-1] == 10_000.0  # the whole budget by the deadline
    performance = {trace["name"]: trace for trace in figure(page, "performance")["data"]}
    # CPA per bucket; the bucket without conversions has no CPA and is left out.
    assert performance["CPA (USD)"]["y"] == [25.0, 40.0]
    assert performance["Control limit (28)"]["y"] == [28.0, 28.0]
    # Text alternatives for people who cannot see the charts.
    assert 'aria-describedby="chart-pacing-summary"' in page
    assert "Spent 310.00 USD by" in page
    assert "CPA (USD): latest 40 at" in page
    assert "No spend yet" not in page and "No performance data yet" not in page


def test_anomaly_flags_are_marked_on_the_performance_chart(login, manager, live_campaign):
    add_samples(live_campaign, [(1, "100.00", 4), (0, "120.00", 3)])
    monitoring_services.anomaly_flag_raise(
        campaign_id=live_campaign.pk,
        kind=AnomalyKind.CPA_ABOVE_LIMIT,
        explanation="CPA 40.00 is above the control limit 28.00 </script><b>for 2 h</b>",
        response=FlagResponse.ESCALATE,
        actor=AGENT,
    )

    page = detail(login(manager), live_campaign)

    markers = {t["name"]: t for t in figure(page, "performance")["data"]}["Anomaly flag"]
    assert markers["y"] == [40.0]
    assert markers["hovertext"] == [
        "CPA above control limit: CPA 40.00 is above the control limit 28.00 "
        "</script><b>for 2 h</b>"
    ]
    # The embedded JSON cannot close its script element or inject markup.
    assert "</script><b>" not in page
    assert "\\u003C/script\\u003E\\u003Cb\\u003E" in page


def test_other_success_metrics_are_charted_from_the_buckets(login, manager, live_campaign):
    brief = live_campaign.brief
    brief.success_metric, brief.success_target = "ctr", Decimal("1.50")
    brief.save()
    add_samples(live_campaign, [(0, "100.00", 4)])  # 120 clicks of 10,000 impressions

    page = detail(login(manager), live_campaign)

    traces = {t["name"]: t for t in figure(page, "performance")["data"]}
    assert traces["Click-through rate (%)"]["y"] == [1.2]
    assert traces["Control limit (1.50)"]["y"] == [1.5, 1.5]

    brief.success_metric = "revenue"  # not in the buckets: its conversions are shown
    brief.save()
    page = detail(login(manager), live_campaign)
    traces = {t["name"]: t for t in figure(page, "performance")["data"]}
    assert list(traces) == ["Conversions per hour"]
    assert traces["Conversions per hour"]["y"] == [4.0]


def test_without_samples_the_page_says_there_is_no_data_yet(login, manager, campaign_a):
    page = detail(login(manager), campaign_a)

    assert "No spend yet." in page
    assert "Spend starts when the campaign launches." in page
    assert "No performance data yet." in page
    assert 'id="chart-pacing"' not in page and 'id="chart-performance"' not in page
    assert "No anomaly flags." in page
    assert "No SLA evaluated yet." in page
    assert "No approval requests." in page


def test_latest_audit_events_newest_first(login, manager, live_campaign):
    for amount in range(1, 18):  # 17 spend events: only the latest 15 are shown
        services.campaign_record_spend(
            campaign_id=live_campaign.pk, amount=Decimal(amount), actor=AGENT
        )

    response = login(manager).get(reverse("campaigns:detail", args=[live_campaign.pk]))

    activity = response.context["activity"]
    assert len(activity) == 15
    assert [item.summary for item in activity[:2]] == [
        "amount 17; consumed 463.00; spent today 153.00",
        "amount 16; consumed 446.00; spent today 136.00",
    ]
    assert activity[0].actor_label == "agent:performance" and activity[0].is_agent
    page = response.content.decode()
    assert "<code>campaign.spend_recorded</code>" in page
    assert "amount 17; consumed 463.00; spent today 153.00" in page
    assert "amount 2; consumed" not in page  # the oldest two are beyond the latest 15


def test_approvals_flags_and_latest_slas_are_shown(login, manager, live_campaign):
    action_propose(
        campaign_id=live_campaign.pk,
        action="change_budget",
        payload={"new_total": "20000", "reason": "Scale the winner"},
        actor=AGENT,
        summary="Raise the budget to 20,000",
        amount=Decimal("5000"),
    )
    decided = action_propose(
        campaign_id=live_campaign.pk,
        action="publish_content",
        payload={
            "channel": "email",
            "headline": "Second wave",
            "body": "Back again.",
            "claims": [],
        },
        actor=Actor.for_agent("content"),
        summary="Email for the second wave",
    ).approval
    approval_decide(approval_id=decided.pk, user=manager, approve=True)
    monitoring_services.anomaly_flag_raise(
        campaign_id=live_campaign.pk,
        kind=AnomalyKind.CPM_SPIKE,
        explanation="CPM 14.80 on paid social is 63 % above its median",
        response=FlagResponse.OPTIMIZE,
        actor=AGENT,
    )
    resolved = monitoring_services.anomaly_flag_raise(
        campaign_id=live_campaign.pk,
        kind=AnomalyKind.BROKEN_LINK,
        explanation="Landing page returned 404",
        response=FlagResponse.PAUSE,
        actor=AGENT,
    )
    monitoring_services.anomaly_flag_resolve(flag_id=resolved.pk, actor=AGENT)
    for status, measured in [(SlaStatus.ON_TRACK, "+2 %"), (SlaStatus.AT_RISK, "+9 %")]:
        monitoring_services.sla_evaluation_record(
            campaign_id=live_campaign.pk,
            sla=SlaKind.BUDGET_PACING,
            status=status,
            measured=measured,
            target="± 10 %",
            actor=AGENT,
        )

    response = login(manager).get(reverse("campaigns:detail", args=[live_campaign.pk]))
    page = response.content.decode()

    approvals = list(response.context["approvals"])
    assert [a.summary for a in approvals] == [
        "Raise the budget to 20,000",  # pending first
        "Email for the second wave",
    ]
    assert "<code>change_budget</code>" in page and "Marketing Manager" in page
    assert [f.kind for f in response.context["open_flags"]] == [AnomalyKind.CPM_SPIKE]
    flag_list = page.split('<ul class="flag-list">')[1].split("</ul>")[0]
    assert "CPM 14.80 on paid social is 63 % above its median" in flag_list
    assert "Response: optimize" in flag_list
    # A resolved flag stays in view (after the open ones), marked resolved.
    resolved_item = flag_list.split('class="flag-item flag-resolved"')[1]
    assert "Landing page returned 404" in resolved_item and ">Resolved</span>" in resolved_item
    assert flag_list.index("CPM 14.80") < flag_list.index("Landing page returned 404")
    slas = response.context["sla_evaluations"]
    assert [(e.sla, e.status, e.measured) for e in slas] == [
        (SlaKind.BUDGET_PACING, SlaStatus.AT_RISK, "+9 %")  # only the latest per SLA
    ]
    assert '<span class="status sla-at_risk"><span aria-hidden="true">⚠</span> At risk' in page


def test_query_count_does_not_grow_with_history(login, manager, live_campaign, campaign_a):
    client = login(manager)
    add_samples(live_campaign, [(h, "10.00", 1) for h in range(48)])
    for _ in range(5):
        services.campaign_record_spend(
            campaign_id=live_campaign.pk, amount=Decimal("1"), actor=AGENT
        )

    def queries(campaign):
        with CaptureQueriesContext(connection) as captured:
            detail(client, campaign)
        return len(captured)

    assert queries(live_campaign) == queries(campaign_a)


def test_legal_reviewer_of_brand_a_gets_404_on_brand_b(login, legal_a, campaign_a, campaign_b):
    client = login(legal_a)
    assert client.get(reverse("campaigns:detail", args=[campaign_a.pk])).status_code == 200
    assert client.get(reverse("campaigns:detail", args=[campaign_b.pk])).status_code == 404


def test_plotly_is_served_locally_and_only_on_the_detail_page(login, manager, campaign_a):
    client = login(manager)

    page = detail(client, campaign_a)

    assert f'<script src="/static/{PLOTLY}" defer></script>' in page
    assert '<script src="/static/js/charts.js" defer></script>' in page
    static = django_settings.BASE_DIR / "static"
    assert (static / PLOTLY).is_file()
    assert (static / "vendor/plotly/LICENSE").is_file()
    assert (static / "js/charts.js").is_file()
    assert "plotly" not in client.get(reverse("campaigns:brief_list")).content.decode()


def test_phase_panel_fragment_stays_a_fragment(login, manager, campaign_a):
    url = reverse("campaigns:transition", args=[campaign_a.pk])

    response = login(manager).post(url, {"to_phase": "execution"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="phase-panel"')
    assert "chart-pacing" not in body and "pacing_chart" not in response.context


def test_seed_demo_tells_a_coherent_story(settings):
    settings.DEBUG = True
    call_command("seed_demo")

    spent = Campaign.objects.filter(budget_consumed__gt=0)
    assert spent.count() == 9
    sample_spend = dict(
        PerformanceSample.objects.values("campaign")
        .annotate(total=Sum("spend"))
        .values_list("campaign", "total")
    )
    for campaign in spent:
        assert sample_spend[campaign.pk] == campaign.budget_consumed, campaign.name
    assert all(c.launched_at for c in spent)
    assert PerformanceSample.objects.filter(campaign__budget_consumed=0).count() == 0
    # 10 days of hours, each split between the paid-social test's two variants.
    assert PerformanceSample.objects.filter(campaign__name="Autumn Roast Launch").count() <= 480

    office = Campaign.objects.get(name="Office Coffee B2B Leads")
    assert office.phase == Phase.ESCALATED and office.escalation_state == "open"
    # Its escalation is real: it told the owner and climbs the chain from now.
    from monitoring.models import Escalation

    escalation = Escalation.objects.get(campaign=office)
    assert (escalation.reason, escalation.status, escalation.level) == ("performance", "open", 0)
    assert escalation.notifications.get().recipient.username == "manager"
    flag = AnomalyFlag.objects.get(campaign=office, state=FlagState.FIRING)
    assert flag.kind == AnomalyKind.CPA_ABOVE_LIMIT
    assert flag.explanation == "CPA 41.20 is above the control limit 28.00 for 3 h"
    # SLAs are measured (monitoring.services.slas), not seeded: pacing is at risk where
    # the story spends ahead of plan, or behind it.
    sleep = Campaign.objects.get(name="Sleep Tracker Spring Push")
    assert sleep.sla_status == SlaStatus.AT_RISK
    pacing = sleep.sla_evaluations.get(sla="budget_pacing")
    assert pacing.status == "at_risk" and pacing.measured.startswith("+8.")
    cold_brew = Campaign.objects.get(name="Cold Brew Subscriptions")
    assert cold_brew.sla_evaluations.get(sla="budget_pacing").measured.startswith("-")
    assert sleep.anomaly_flags.get().kind == AnomalyKind.CPM_SPIKE

    # The story's proposals; some Cold Brew drafts also wait (tests/agents/test_demo.py).
    pending = (
        ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING)
        .exclude(decision__agent_run__agent="content")
        .exclude(action_type="update_brand_memory")  # lessons the tests taught (agents.demo)
    )
    assert pending.count() == 5
    assert {a.brand.slug for a in pending} == {"northwind", "lumen"}
    assert pending.filter(
        campaign__name="Wellness App Free Trial", queue_role="Legal Reviewer"
    ).exists()
    call_command("audit_verify")  # the incidents went through the audited services
