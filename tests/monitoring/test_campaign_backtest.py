"""The campaign backtest judges like the watch: the same detector over the same hours.
Faults injected in the sandbox market go through the real ingestion (the live monitor
raises its flags), then the backtest replays the stored samples."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Brief, Campaign
from monitoring.domain.anomalies import PACING_DRIFT, detectors_for
from monitoring.models import AnomalyFlag
from monitoring.selectors import campaign_backtest, campaign_expected_band, live_detector

from .conftest import DAYS_RUN, feed, market_events

pytestmark = pytest.mark.django_db

HOURS = DAYS_RUN * 24


def test_the_backtest_fires_where_the_live_monitor_flagged(delivering):
    from agents.connectors.market import Fault

    start = timezone.localtime(delivering.launched_at) + timedelta(hours=HOURS - 36)
    overspend = Fault("overspend", start, 48, severity=0.6)
    feed(delivering, market_events(delivering, hours=HOURS, faults=[overspend]))
    campaign = Campaign.objects.get(pk=delivering.pk)  # delivery has started since

    result = campaign_backtest(campaign, "spend_pace")

    live = list(AnomalyFlag.objects.filter(campaign=campaign, kind=PACING_DRIFT))
    assert len(live) == 1 and len(result.fired) == 1  # one incident, one flag
    # The flag stores what the watch saw when it fired: the backtest saw the same.
    fired = result.fired[0]
    assert live[0].observed == _stored(fired.value)
    assert (live[0].expected_low, live[0].expected_high) == (
        _stored(fired.low),
        _stored(fired.high),
    )
    assert result.label == "Spend pace (% against plan)" and result.hours == HOURS


def test_the_backtest_runs_the_watchs_detector_for_the_campaign(delivering):
    Brief.objects.filter(pk=delivering.brief_id).update(sla_pacing_tolerance_pct=15)
    delivering.refresh_from_db()

    # The brief's CPA target and pacing tolerance, as the watch judges this campaign.
    assert live_detector(delivering, "cpa").control_limit == 28
    assert live_detector(delivering, "spend_pace") == detectors_for(
        PACING_DRIFT, pacing_tolerance_pct=15
    )
    delivering.brief.success_metric = "ctr"
    assert live_detector(delivering, "cpa").control_limit is None  # adaptive: no CPA target


def test_the_band_has_a_point_per_judged_hour_and_nothing_for_conversions(delivering):
    feed(delivering, market_events(delivering, hours=72))
    campaign = Campaign.objects.get(pk=delivering.pk)

    band = campaign_expected_band(campaign, "spend_pace")

    # Pacing judges a trailing day from its 25th hour: ±10 % around the plan.
    assert {(b.low, b.high) for b in band if b.high is not None} == {(-10.0, 10.0)}
    assert len([b for b in band if b.high is not None]) == 72 - 24
    assert campaign_expected_band(campaign, "conversions") == []


def _stored(value):
    """A float as ``flag_apply`` stores it."""
    return None if value is None else Decimal(str(round(value, 4)))
