"""The control tower page: what each person sees, filters in the URL, fixed query count."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.models import ApprovalRequest
from campaigns.models import Campaign, SlaStatus
from monitoring.models import AnomalyFlag
from tests.factories import CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = reverse("tower")


def make_campaigns(brand, owner, n, **kwargs):
    campaigns = CampaignFactory.create_batch(
        n, brief__brand=brand, brief__created_by=owner, **kwargs
    )
    for c in campaigns:
        AnomalyFlag.objects.create(
            campaign=c, kind="cpm_spike", explanation="CPM 14.10 vs 9.00", opened_at=timezone.now()
        )
        ApprovalRequest.objects.create(
            campaign=c,
            brand=brand,
            action_type="launch",
            queue_role="Marketing Manager",
            summary="Launch",
            requested_by_agent="distribution",
        )
    return campaigns


def queries_for(client, url=URL):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response


def test_query_count_does_not_grow_with_the_number_of_campaigns(login, manager, brand_a, brand_b):
    client = login(manager)
    make_campaigns(brand_a, manager, 3)
    few, _ = queries_for(client)
    make_campaigns(brand_a, manager, 30)
    make_campaigns(brand_b, manager, 30)
    many, response = queries_for(client)
    assert many == few
    assert len(response.context["rows"]) == 25  # one page: only what is on screen
    # Filters and sorting don't add per-row queries either.
    filtered, _ = queries_for(client, URL + "?attention=1&sort=-budget&page=2")
    assert filtered == few


def test_each_row_shows_the_campaigns_state(login, manager, campaign_a):
    campaign_a.budget_consumed = Decimal("2500")
    campaign_a.sla_status = SlaStatus.AT_RISK
    campaign_a.escalation_state = "acknowledged"
    campaign_a.save()
    AnomalyFlag.objects.create(
        campaign=campaign_a,
        kind="cpa_above_limit",
        explanation="CPA 41.20 above 28.00 for 3 h",
        opened_at=timezone.now(),
    )
    ApprovalRequest.objects.create(
        campaign=campaign_a,
        brand=campaign_a.brand,
        action_type="change_budget",
        queue_role="Marketing Manager",
        summary="Shift 2,000",
        requested_by_agent="performance",
    )
    body = login(manager).get(URL).content.decode()
    row = body[body.index(f'id="tower-row-{campaign_a.pk}"') :]
    row = row[: row.index("</tr>")]
    for text in [
        "A campaign",
        "Brand A",
        "Briefing",
        "manager",
        # The next action is derived: the change waits for a marketing manager.
        "1 approval waits for Marketing Manager",
        "2,500",
        "10,000",
        "25% used",
        "Not launched",
        "At risk",
        "CPA above control limit",
        'title="CPA 41.20 above 28.00 for 3 h"',
        "Acknowledged",
        "1 pending",
    ]:
        assert text in row, text


def test_summary_counts_what_needs_attention_across_visible_campaigns(login, manager, brand_a):
    make_campaigns(brand_a, manager, 2)  # each: 1 flag, 1 pending approval
    CampaignFactory(brief__brand=brand_a, brief__created_by=manager, phase="escalated")
    CampaignFactory(brief__brand=brand_a, brief__created_by=manager, sla_status="breached")
    summary = login(manager).get(URL).context["summary"]
    assert (summary.escalated, summary.breached, summary.at_risk) == (1, 1, 0)
    assert (summary.flagged, summary.awaiting_approval) == (2, 2)


def test_legal_reviewer_sees_only_their_brand_in_rows_summary_and_filters(
    login, legal_a, manager, brand_a, brand_b
):
    make_campaigns(brand_a, manager, 1)
    make_campaigns(brand_b, manager, 4)
    response = login(legal_a).get(URL)
    assert {r.campaign.brand_id for r in response.context["rows"]} == {brand_a.pk}
    assert response.context["summary"].awaiting_approval == 1
    assert [s.brand_id for s in response.context["summary"].brands] == [brand_a.pk]
    assert "Brand B" not in response.content.decode()
    assert f'id="brand-summary-{brand_b.pk}"' not in response.content.decode()


def test_filters_and_sort_come_from_the_url(login, manager, brand_a, brand_b):
    alice = UserFactory(username="alice")
    CampaignFactory(brief__brand=brand_a, brief__created_by=manager, name="Zed", phase="paused")
    CampaignFactory(brief__brand=brand_b, brief__created_by=alice, name="Alpha", phase="execution")
    CampaignFactory(
        brief__brand=brand_a,
        brief__created_by=manager,
        name="Mid",
        phase="execution",
        sla_status="breached",
    )
    client = login(manager)

    def names(query):
        return [r.campaign.name for r in client.get(URL + query).context["rows"]]

    assert names("?sort=name") == ["Alpha", "Mid", "Zed"]
    assert names("?sort=-name") == ["Zed", "Mid", "Alpha"]
    assert names("?brand=brand-b") == ["Alpha"]
    assert names("?phase=execution&sort=name") == ["Alpha", "Mid"]
    assert names("?owner=alice") == ["Alpha"]
    assert names("?attention=1") == ["Mid"]
    assert names("?sort=-sla")[0] == "Mid"


def test_pages_render_only_what_is_on_screen(login, manager, brand_a, settings):
    settings.CONTROLTOWER_TOWER_PAGE_SIZE = 2
    CampaignFactory.create_batch(5, brief__brand=brand_a, brief__created_by=manager)
    client = login(manager)
    first = client.get(URL + "?sort=name")
    assert len(first.context["rows"]) == 2 and "Page 1 of 3" in first.content.decode()
    last = client.get(URL + "?sort=name&page=3")
    assert len(last.context["rows"]) == 1
    assert len(client.get(URL + "?page=99").context["rows"]) == 1  # past the end: last page


def test_htmx_resync_returns_only_the_tower_content(login, manager, campaign_a):
    response = login(manager).get(URL, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="tower-content")
    body = response.content.decode().lstrip()
    assert body.startswith('<div id="tower-content"')
    assert "<html" not in body and f'id="tower-row-{campaign_a.pk}"' in body


def test_the_page_is_accessible_as_a_table_with_text_statuses(login, manager, campaign_a):
    body = login(manager).get(URL).content.decode()
    assert '<table class="data tower" id="tower-table">' in body
    assert body.count('<th scope="col"') == 10
    assert 'aria-sort="descending"' not in body  # default sort is by recency, no header
    assert "✔</span> On track" in body  # icon and text, never colour alone
    assert 'ws-connect="/ws/tower/?since=' in body
    assert "/static/vendor/htmx/htmx-ext-ws-2.0.4.min.js" in body


def test_a_fresh_launch_reads_waiting_then_warming_up_never_underspending(
    login, manager, campaign_a
):
    """The first build showed every new launch as "Underspending (-100 %)"."""
    from datetime import timedelta

    launched = timezone.now() - timedelta(minutes=30)
    Campaign.objects.filter(pk=campaign_a.pk).update(phase="execution", launched_at=launched)
    client = login(manager)

    def pacing_cell():
        body = client.get(URL).content.decode()
        row = body[body.index(f'id="tower-row-{campaign_a.pk}"') :]
        row = row[: row.index("</tr>")]
        return row[row.index('class="cell-pacing"') :]

    assert "Waiting for delivery" in pacing_cell() and "Underspending" not in pacing_cell()
    Campaign.objects.filter(pk=campaign_a.pk).update(delivery_started_at=launched)
    judged_from = timezone.localtime(launched + timedelta(hours=2))
    cell = pacing_cell()
    assert "Warming up" in cell and f"judged from {judged_from:%H:%M}" in cell
