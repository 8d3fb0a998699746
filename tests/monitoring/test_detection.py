"""Faults injected in the sandbox market's telemetry, fed through the real ingestion,
raise the right flag and carry out the right response; a healthy market raises none."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.connectors.market import Fault
from agents.models import AgentRun
from campaigns.models import Brief, Campaign
from governance.models import AuditEvent
from monitoring.models import (
    AnomalyFlag,
    CircuitBreaker,
    DetectorState,
    Escalation,
    FlagState,
    Notification,
)
from monitoring.services import monitoring_close_buckets, silence_create

from .conftest import DAYS_RUN, feed, market_events

pytestmark = pytest.mark.django_db

HOURS = DAYS_RUN * 24


def fault(campaign, kind, *, hours_before_now, duration=48, **where):
    """A fault starting ``hours_before_now`` hours before the end of the series."""
    start = timezone.localtime(campaign.launched_at) + timedelta(hours=HOURS - hours_before_now)
    return Fault(kind, start, duration, **where)


def flags_of(campaign):
    return {
        (f.kind, f.channel, f.variant): f for f in AnomalyFlag.objects.filter(campaign=campaign)
    }


def pin_to_a_sunday(campaign):
    """The same ten days whenever the suite runs: from a Sunday 00:00, more than ten days
    ago. TRICKY: the market's day and week shape the series, so a start that moved with
    the clock made a test's series (and its verdict) depend on the hour it ran."""
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    sunday = today - timedelta(days=today.weekday() + 15)
    Campaign.objects.filter(pk=campaign.pk).update(launched_at=sunday)
    Brief.objects.filter(pk=campaign.brief_id).update(
        deadline=(sunday + timedelta(days=30)).date() - timedelta(days=1)
    )
    campaign.refresh_from_db()


def test_a_healthy_market_raises_no_flag(delivering):
    pin_to_a_sunday(delivering)
    feed(delivering, market_events(delivering, hours=HOURS))
    assert list(AnomalyFlag.objects.values_list("explanation", flat=True)) == []
    # The campaign, its two channels, and its three variants' link checks.
    assert DetectorState.objects.filter(campaign=delivering).count() == 6
    campaign_state = DetectorState.objects.get(campaign=delivering, channel="")
    assert campaign_state.last_bucket is not None and campaign_state.snapshot


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_a_broken_link_pauses_that_variant_only(delivering, manager, vendor, monkeypatch):
    """(Also on the portable path `make run`'s SQLite takes, here on PostgreSQL.)"""
    from monitoring.services import sql

    monkeypatch.setattr(sql, "postgresql", lambda: vendor == "postgresql")
    bad = fault(delivering, "broken_link", hours_before_now=6, channel="social_ads", variant="B")
    feed(delivering, market_events(delivering, hours=HOURS, faults=[bad]))

    flag = flags_of(delivering)[("broken_link", "social_ads", "B")]
    assert flag.state == FlagState.FIRING and flag.response == "pause"
    assert "Link failures" in flag.explanation
    breaker = CircuitBreaker.objects.get(campaign=delivering)
    assert (breaker.channel, breaker.variant, breaker.state) == ("social_ads", "B", "open")
    assert flag.response_taken.startswith("Paused Paid social variant B (circuit breaker)")
    # Through the gate: the pause has a recorded policy decision, and the rest runs on.
    assert AuditEvent.objects.filter(action="policy.decided", data__action="pause").exists()
    assert Campaign.objects.get(pk=delivering.pk).phase == "monitoring"
    note = Notification.objects.get(recipient=manager, flag=flag)
    assert note.title == "Broken link on Delivering"


def test_a_cpm_spike_asks_the_performance_agent_to_optimise(delivering):
    spike = fault(delivering, "cpm_spike", hours_before_now=12, channel="social_ads")
    feed(delivering, market_events(delivering, hours=HOURS, faults=[spike]))
    flags = flags_of(delivering)
    flag = flags[("cpm_spike", "social_ads", "")]
    assert flag.state == FlagState.FIRING and flag.response == "optimize"
    run = AgentRun.objects.get(
        campaign=delivering, agent="performance", key=f"performance:{delivering.pk}:flag:{flag.pk}"
    )
    assert "performance agent" in flag.response_taken
    # The same spend buys fewer impressions and so fewer clicks: CPC rises too, on the
    # channel, and carries the band it left.
    cpc = flags[("cpc_spike", "social_ads", "")]
    assert cpc.response == "optimize" and cpc.explanation.startswith("CPC ")
    assert cpc.expected_high is not None and cpc.observed > cpc.expected_high
    assert flag.expected_high is not None and flag.observed > flag.expected_high
    # "since" is when the numbers went wrong, not when the late telemetry was read
    assert spike.starts_at <= flag.bad_since < spike.starts_at + timedelta(hours=6) < flag.opened_at
    assert run.pk


def test_a_conversion_drop_escalates_and_stops_the_agents(delivering):
    drop = fault(delivering, "conversion_drop", hours_before_now=40, severity=0.8)
    feed(delivering, market_events(delivering, hours=HOURS, faults=[drop]))
    kinds = {kind for kind, _, _ in flags_of(delivering)}
    assert "conversion_drop" in kinds
    escalation = Escalation.objects.get(campaign=delivering, reason="performance")
    assert escalation.stops == "campaign" and escalation.status == "open"
    campaign = Campaign.objects.get(pk=delivering.pk)
    assert (campaign.phase, campaign.escalation_state) == ("escalated", "open")


def test_overspend_raises_pacing_drift(delivering):
    over = fault(delivering, "overspend", hours_before_now=36, severity=0.6)
    feed(delivering, market_events(delivering, hours=HOURS, faults=[over]))
    flag = flags_of(delivering)[("pacing_drift", "", "")]
    assert flag.response == "optimize" and "above" in flag.explanation.lower()


def test_audience_fatigue_is_flagged_on_its_channel(delivering):
    tired = fault(
        delivering, "audience_fatigue", hours_before_now=60, duration=60, channel="social_ads"
    )
    feed(delivering, market_events(delivering, hours=HOURS, faults=[tired]))
    flag = flags_of(delivering)[("audience_fatigue", "social_ads", "")]
    assert flag.response == "optimize"
    assert not any(
        kind == "audience_fatigue"
        for kind, channel, _ in flags_of(delivering)
        if channel == "search_ads"
    )


def test_cpa_above_the_briefs_limit_escalates_at_once(delivering, manager):
    # A severe price spike everywhere doubles CPA past the brief's 28.00.
    # CPA is pooled to 25 conversions a point, and fires on the third bad point in a row.
    pin_to_a_sunday(delivering)
    spike = fault(delivering, "cpm_spike", hours_before_now=36, severity=1.5)
    feed(delivering, market_events(delivering, hours=HOURS, faults=[spike]))
    flag = flags_of(delivering)[("cpa_above_limit", "", "")]
    assert flag.state == FlagState.FIRING and flag.limit == 28
    assert "above the control limit 28.00" in flag.explanation
    escalation = Escalation.objects.get(campaign=delivering, flag=flag)
    told = Notification.objects.filter(escalation=escalation).values_list(
        "recipient__username", flat=True
    )
    assert list(told) == ["manager"]  # the owner, first on the chain


def test_a_silence_records_the_flag_but_tells_nobody_and_takes_no_action(delivering, manager):
    pin_to_a_sunday(delivering)
    silence_create(
        brand_id=delivering.brand_id,
        campaign_id=delivering.pk,
        user=manager,
        starts_at=delivering.launched_at - timedelta(days=1),
        ends_at=timezone.now() + timedelta(hours=1),
        reason="Holiday sale: prices run high",
        kinds=["cpa_above_limit", "cpm_spike", "cpc_spike"],
    )
    spike = fault(delivering, "cpm_spike", hours_before_now=36, severity=1.5)
    feed(delivering, market_events(delivering, hours=HOURS, faults=[spike]))
    flag = flags_of(delivering)[("cpa_above_limit", "", "")]
    assert flag.state == FlagState.FIRING and flag.silenced
    assert flag.silence_note.startswith("Holiday sale: prices run high (silenced until")
    assert flag.response_taken.startswith("Silenced")
    assert not Escalation.objects.exists() and not Notification.objects.exists()
    assert Campaign.objects.get(pk=delivering.pk).phase == "monitoring"
    assert AuditEvent.objects.filter(action="anomaly.silenced").exists()


def test_batches_of_any_size_judge_the_same_hours_the_same_way(delivering, brand_a, manager):
    """No look-ahead and no batch effects: hourly and daily posting raise the same flags
    at the same points, and the state stored between batches resumes exactly."""
    from tests.factories import CampaignFactory

    twin = CampaignFactory(
        brief=delivering.brief,
        name="Twin",
        phase=delivering.phase,
        launched_at=delivering.launched_at,
        budget_total=delivering.budget_total,
    )
    spike = fault(delivering, "cpm_spike", hours_before_now=12, channel="social_ads")
    for campaign, per_batch in ((delivering, 3), (twin, 24 * 3 * 4)):
        feed(campaign, market_events(campaign, hours=HOURS, faults=[spike]), per_batch=per_batch)

    def story(campaign):
        return sorted(
            (f.kind, f.channel, f.state, f.explanation)
            for f in AnomalyFlag.objects.filter(campaign=campaign)
        )

    assert story(delivering) == story(twin) and story(delivering)


def test_the_clock_closes_an_hour_nobody_reported_after(delivering):
    """The beat sweep judges the last hour once it is past, even with no later report."""
    events = market_events(delivering, hours=HOURS)
    feed(delivering, events)
    state = DetectorState.objects.get(campaign=delivering, channel="")
    last = state.last_bucket
    monitoring_close_buckets(now=timezone.now() + timedelta(hours=1))
    state.refresh_from_db()
    assert state.last_bucket > last
