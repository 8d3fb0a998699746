"""The sandbox market's telemetry: seeded, realistic, and faults that do what they say —
end to end through the detectors, in pure code (no database)."""

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from agents.connectors.market import (
    AUDIENCE_FATIGUE,
    BROKEN_LINK,
    CONVERSION_DROP,
    CPM_SPIKE,
    FAULT_KINDS,
    FLAG_FOR_FAULT,
    OVERSPEND,
    Fault,
    MarketSpec,
    MarketState,
    by_line,
    next_buckets,
    simulate_series,
)
from campaigns.domain.metrics import metric_value
from monitoring.domain.anomalies import DEFAULT_DETECTORS, Monitor, State, detectors_for

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
SPEC = MarketSpec.default()
LINE = ("social_ads", "A")
DAYS = 14


def simulate(faults=(), *, seed=3, hours=DAYS * 24):
    return simulate_series(SPEC, start=START, hours=hours, rng=random.Random(seed), faults=faults)


def fault(kind, hours=36, **kw):
    return Fault(
        kind, START + timedelta(days=9, hours=10), hours, channel=LINE[0], variant=LINE[1], **kw
    )


def test_same_seed_same_series_other_seed_other_series():
    assert simulate(seed=3) == simulate(seed=3)
    assert simulate(seed=3) != simulate(seed=4)


def test_the_incremental_form_equals_the_batch_form():
    faults = [fault(CPM_SPIKE), fault(BROKEN_LINK, hours=5)]
    rng = random.Random(3)
    state = MarketState.initial(SPEC)
    ticks = []
    for hour in range(DAYS * 24):
        buckets, state = next_buckets(SPEC, state, START + timedelta(hours=hour), rng, faults)
        ticks += buckets
        state = MarketState.restore(json.loads(json.dumps(state.snapshot())))  # a beat task
    assert ticks == simulate(faults)


def test_the_series_looks_like_a_real_account():
    series = by_line(simulate())[LINE]
    spend = sum(b.spend for b in series)
    conversions = sum(b.conversions for b in series)
    assert spend == pytest.approx(2400 * DAYS, rel=0.02)  # the daily budget, paced
    assert spend / conversions == pytest.approx(20, rel=0.15)  # CPA near the line's economics
    by_hour = {h: sum(b.impressions for b in series if b.at.hour == h) for h in range(24)}
    assert by_hour[20] > 3 * by_hour[8]  # the audience's day: evenings, not mornings
    quiet = [b for b in series if b.at.hour == 8]
    assert min(b.conversions for b in quiet) <= 1  # quiet hours are thin: noise to survive
    assert all(b.fault is None and b.link_failures <= 1 for b in series)


def pairs(kind, **kw):
    """(clean, faulted) buckets of the faulted line: same seed, so the same noise."""
    injected = fault(kind, **kw)
    clean, faulted = by_line(simulate())[LINE], by_line(simulate([injected]))[LINE]
    inside = [(c, f) for c, f in zip(clean, faulted, strict=True) if injected.applies(c.at, *LINE)]
    outside = [
        (c, f) for c, f in zip(clean, faulted, strict=True) if not injected.applies(c.at, *LINE)
    ]
    return injected, inside, outside


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_a_fault_acts_only_inside_its_window_and_line_and_is_labelled(kind):
    injected, inside, outside = pairs(kind)
    assert len(inside) == 36
    assert all(f.fault == kind for _, f in inside)
    assert all(c == f for c, f in outside)  # identical noise everywhere else
    other_lines = [k for k in by_line(simulate()) if k != LINE]
    clean, faulted = by_line(simulate()), by_line(simulate([injected]))
    assert all(clean[k] == faulted[k] for k in other_lines)


def test_a_cpm_spike_buys_fewer_impressions_for_the_same_spend():
    _, inside, _ = pairs(CPM_SPIKE, severity=0.6)
    for clean, spiked in inside:
        assert spiked.spend == clean.spend
        assert metric_value("cpm", spiked) == pytest.approx(
            1.6 * metric_value("cpm", clean), rel=0.05
        )
        assert spiked.clicks <= clean.clicks


def test_a_conversion_drop_keeps_the_clicks_and_loses_conversions():
    _, inside, _ = pairs(CONVERSION_DROP, severity=0.6)
    assert all(f.clicks == c.clicks and f.conversions <= c.conversions for c, f in inside)
    assert sum(f.conversions for _, f in inside) < 0.55 * sum(c.conversions for c, _ in inside)


def test_a_broken_link_fails_its_checks_and_converts_nobody():
    _, inside, _ = pairs(BROKEN_LINK, hours=6)
    assert all(f.link_failures == f.link_checks and f.conversions == 0 for _, f in inside)
    assert all(f.clicks == c.clicks for c, f in inside)  # people still click, into a 404


def test_audience_fatigue_shows_the_same_people_more_and_they_click_less():
    _, inside, _ = pairs(AUDIENCE_FATIGUE, hours=72, severity=1.0)
    first, last = inside[0], inside[-1]
    assert last[1].frequency == pytest.approx(2 * last[0].frequency, rel=0.01)  # ramped fully
    assert first[1].frequency < 1.1 * first[0].frequency  # …gradually
    assert all(f.impressions == c.impressions and f.clicks <= c.clicks for c, f in inside)
    assert sum(f.clicks for _, f in inside[24:]) < 0.75 * sum(c.clicks for c, _ in inside[24:])


def test_overspend_doubles_spend_at_the_same_price():
    _, inside, _ = pairs(OVERSPEND, severity=1.0)
    for clean, over in inside:
        assert over.spend == pytest.approx(2 * clean.spend, abs=0.02)
        assert over.planned_spend == clean.planned_spend
        assert over.impressions > clean.impressions


def test_faults_are_validated():
    with pytest.raises(ValueError, match="Unknown fault"):
        Fault("meteor_strike", START, 3)
    with pytest.raises(ValueError, match="positive"):
        Fault(CPM_SPIKE, START, 0)
    assert Fault(OVERSPEND, START, 3).severity == 1.0  # the default for its kind


# --- end to end: market → detectors --------------------------------------------------

# As a brief with a 28.00 CPA target configures them.
CONFIGS = {
    **DEFAULT_DETECTORS,
    "cpa_above_limit": detectors_for("cpa_above_limit", control_limit=28.0),
}
DURATIONS = {
    CPM_SPIKE: 36,
    CONVERSION_DROP: 36,
    BROKEN_LINK: 6,
    AUDIENCE_FATIGUE: 96,
    OVERSPEND: 36,
}


def firings(buckets):
    """(line, kind, at) of every incident that started firing."""
    out = []
    for line, series in by_line(buckets).items():
        monitor = Monitor(CONFIGS)
        for bucket in series:
            out += [
                (line, f.kind, f.transition.at)
                for f in monitor.observe(bucket.at, bucket)
                if f.transition.to_state is State.FIRING
            ]
    return out


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("seed", [1, 2])
def test_each_injected_fault_raises_its_detectors_flag(kind, seed):
    injected = fault(kind, hours=DURATIONS[kind])
    fired = firings(simulate([injected], seed=seed))
    expected = FLAG_FOR_FAULT[kind]
    hits = [at for line, k, at in fired if line == LINE and k == expected]
    assert hits and injected.starts_at <= hits[0] < injected.ends_at, fired
    # and the flag fires on the faulted line only
    assert all(line == LINE for line, k, _ in fired if k == expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_fault_free_account_raises_no_flag(seed):
    assert firings(simulate(seed=seed)) == []


def test_a_broken_link_flag_says_pause_within_the_hour():
    injected = fault(BROKEN_LINK, hours=6)
    series = by_line(simulate([injected]))[LINE]
    monitor = Monitor(CONFIGS)
    flagged = [f for b in series for f in monitor.observe(b.at, b) if f.kind == "broken_link"]
    fired, resolved = flagged
    assert (fired.transition.at, fired.response) == (injected.starts_at, "pause")
    assert (
        fired.transition.explanation
        == "Link failures 100.0 % is above the control limit 50.0 % for 1 h"
    )
    assert resolved.transition.to_state is State.RESOLVED
    assert resolved.transition.at == injected.ends_at + timedelta(hours=1)
