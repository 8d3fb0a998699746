"""A Content-Security-Policy header on every page, and pages that meet it: in Chromium,
against uvicorn, no page's script, style or socket is refused by the policy."""

import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from agents.connectors.market import MarketSpec, simulate_series
from campaigns.models import Campaign
from monitoring.services import telemetry_ingest
from tests.browser.test_tower_live import log_in
from tests.stack import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_every_page_sends_the_policy(client, admin_user):
    client.force_login(admin_user)
    for path in ("/", "/approvals/", "/accounts/login/", "/api/v1/docs/"):
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-eval" not in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]


def test_the_pages_meet_the_policy_in_a_browser(tmp_path, chromium, admin_user, manager, brand_a):
    campaign = _delivering_campaign(brand_a, manager)
    refused = []
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page = log_in(chromium, base_url, "admin")
        page.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        for path in (
            "/",
            f"/campaigns/{campaign.pk}/",
            "/approvals/",
            "/memory/",
            "/agents/",
            "/api/v1/docs/",
            "/api/v1/redoc/",
            "/admin/",
        ):
            page.goto(base_url + path)
            page.wait_for_load_state("networkidle")
        # The charts drew (plotly ran under the policy) and the socket connected.
        page.goto(f"{base_url}/campaigns/{campaign.pk}/")
        page.locator("#chart-performance .main-svg").first.wait_for(timeout=15_000)
        page.goto(base_url + "/")
        page.locator("#live-status[data-state='live']").wait_for(timeout=15_000)
    # Redoc asks Google for fonts and its CDN for a logo: refused by the policy (and
    # offline anyway), on purpose. What must never be refused is anything of our own:
    # an inline script, eval, or a resource from this site.
    external = ("https://fonts.googleapis.com", "https://cdn.redoc.ly")
    ours = [text for text in refused if not any(host in text for host in external)]
    assert ours == []


def _delivering_campaign(brand, manager):
    from tests.factories import CampaignFactory

    launched = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    campaign = CampaignFactory(
        brief__brand=brand,
        brief__created_by=manager,
        phase="monitoring",
        launched_at=launched,
        name="Charted",
    )
    buckets = simulate_series(MarketSpec.default(), start=launched, hours=40, rng=random.Random(3))
    telemetry_ingest(
        brand_id=brand.pk,
        items=[
            {
                "event_id": f"c-{b.channel}-{b.variant}-{b.at:%Y%m%d%H}",
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
        ],
    )
    call_command("check")
    return Campaign.objects.get(pk=campaign.pk)
