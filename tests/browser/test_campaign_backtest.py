"""A manager asks, on the campaign page in Chromium, how the live detector would have done
on the campaign's own data: the chart of the metric's history, the band the detector
expected and markers where it would have flagged, swapped in by htmx under the page's
Content-Security-Policy."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents.connectors.market import Fault, MarketSpec, simulate_series
from campaigns.domain.phases import Phase
from monitoring.models import AnomalyFlag
from monitoring.services import telemetry_ingest
from tests.browser.test_tower_live import log_in
from tests.factories import CampaignFactory
from tests.stack import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

DAYS = 9


def price_spike_campaign(brand, manager):
    """Nine days on the sandbox market (paid social and search), the last 30 hours with
    prices up 80 % everywhere, ingested as a platform would report it: the live monitor
    raises its flags as it goes."""
    launched = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=DAYS)
    campaign = CampaignFactory(
        brief__brand=brand,
        brief__created_by=manager,
        brief__title="Spring running shoes",
        brief__channels=["social_ads", "search_ads"],
        brief__success_target=Decimal("28.00"),
        phase=Phase.MONITORING,
        launched_at=launched,
        budget_total=Decimal("162000"),
    )
    hours = DAYS * 24
    spike = Fault("cpm_spike", launched + timedelta(hours=hours - 30), 48, severity=0.8)
    buckets = simulate_series(
        MarketSpec.default(), start=launched, hours=hours, rng=random.Random(5), faults=[spike]
    )
    events = [
        {
            "event_id": f"b-{b.channel}-{b.variant}-{b.at:%Y%m%d%H}",
            "campaign_id": campaign.pk,
            "channel": b.channel,
            "variant": b.variant,
            "occurred_at": b.at.isoformat(),
            "impressions": b.impressions,
            "clicks": b.clicks,
            "conversions": b.conversions,
            "spend": f"{b.spend:.2f}",
        }
        for b in buckets
    ]
    for i in range(0, len(events), 24 * 3):
        telemetry_ingest(brand_id=brand.pk, items=events[i : i + 24 * 3])
    return campaign


def test_a_manager_backtests_cpc_and_sees_where_it_would_have_flagged(
    tmp_path, chromium, artifacts_dir, manager, brand_a
):
    campaign = price_spike_campaign(brand_a, manager)
    assert AnomalyFlag.objects.filter(campaign=campaign, kind="cpc_spike").exists()
    refused = []
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page = log_in(chromium, base_url, "manager")
        page.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(f"{base_url}/campaigns/{campaign.pk}/")
        page.locator("#chart-performance .main-svg").first.wait_for(timeout=15_000)
        # The live flags carry the band they left.
        assert "Expected up to " in page.locator("#flags-list").inner_text()
        page.evaluate("window.__sameDocument = true")

        backtest = page.locator("#backtest")
        backtest.get_by_label("Metric").select_option(label="CPC")
        backtest.get_by_role("button", name="Backtest this metric").click()
        chart = page.locator("#chart-backtest")
        chart.locator(".main-svg").first.wait_for(timeout=15_000)

        # Swapped into the page (no navigation), drawn by the page's own chart script.
        assert page.evaluate("window.__sameDocument") is True
        legend = chart.locator(".legendtext").all_text_contents()
        assert "Would have flagged" in legend and "Expected range" in legend
        markers = chart.locator(".scatterlayer .trace").last.locator("path.point")
        assert markers.count() >= 1
        summary = page.locator("#chart-backtest-summary").inner_text()
        assert summary.startswith("Would have flagged ") and "(CPC " in summary
        page.locator("#backtest").scroll_into_view_if_needed()
        page.mouse.move(0, 0)  # no hover labels or chart toolbar over the picture
        page.locator("section[aria-labelledby='performance-heading']").screenshot(
            path=str(artifacts_dir / "campaign-backtest.png")
        )
        page.locator("#flags").screenshot(path=str(artifacts_dir / "campaign-flag-band.png"))

        # Refused input: said beside the form, the chart area replaced by nothing else.
        page.evaluate("document.getElementById('backtest-control_limit').removeAttribute('min')")
        backtest.get_by_label("Control limit").fill("-3")
        backtest.get_by_role("button", name="Backtest this metric").click()
        page.get_by_text("A control limit cannot be negative.").wait_for(timeout=10_000)
        assert page.locator("#chart-backtest").count() == 0
    assert refused == []
