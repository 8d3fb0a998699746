"""Monitoring fixtures: a campaign delivering on the sandbox market's default lines
(paid social A and B, search A) with a straight-line plan that matches what the market
spends, and helpers to feed it telemetry through the real ingestion."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents.connectors.market import MarketSpec, simulate_series
from campaigns.domain.phases import Phase
from monitoring.services import telemetry_ingest
from tests.factories import CampaignFactory

#: The market's default lines spend 2,400 + 1,200 + 1,800 a day.
DAILY = Decimal("5400")
DAYS_RUN = 10


@pytest.fixture
def delivering(brand_a, manager):
    """A campaign launched ten days ago, judged by CPA against 28.00, planned to spend
    what the default market lines spend each day."""
    launched = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=DAYS_RUN)
    total_days = 30
    return CampaignFactory(
        brief__brand=brand_a,
        brief__created_by=manager,
        brief__success_target=Decimal("28.00"),
        brief__channels=["social_ads", "search_ads"],
        brief__deadline=(launched + timedelta(days=total_days)).date() - timedelta(days=1),
        name="Delivering",
        phase=Phase.MONITORING,
        launched_at=launched,
        budget_total=DAILY * total_days,
    )


def market_events(campaign, *, hours, faults=(), seed=1, start=None):
    """The sandbox market's hourly buckets for the default lines, as ingestion events."""
    start = start or campaign.launched_at
    buckets = simulate_series(
        MarketSpec.default(),
        start=timezone.localtime(start),
        hours=hours,
        rng=random.Random(seed),
        faults=faults,
    )
    return [
        {
            "event_id": f"m-{campaign.pk}-{b.channel}-{b.variant}-{b.at:%Y%m%d%H}",
            "campaign_id": campaign.pk,
            "channel": b.channel,
            "variant": b.variant,
            "occurred_at": b.at.isoformat(),
            "impressions": b.impressions,
            "clicks": b.clicks,
            "conversions": b.conversions,
            "spend": f"{b.spend:.2f}",
            "reach": b.reach,
            "leads": b.leads,
            "qualified_leads": b.qualified_leads,
            "link_checks": b.link_checks,
            "link_failures": b.link_failures,
            "complaints": b.complaints,
        }
        for b in buckets
    ]


def feed(campaign, events, *, per_batch=24 * 3):
    """Ingest events in batches of ``per_batch`` (a day of the three lines by default),
    as a platform posting once a day would; the flags raised or changed."""
    flags = []
    for i in range(0, len(events), per_batch):
        result = telemetry_ingest(brand_id=campaign.brand_id, items=events[i : i + per_batch])
        flags += result.flags
    return flags
