"""The anomaly detectors on literal series: pure, no database."""

import json
import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.domain.metrics import Bucket, Direction, metric_value, reading
from monitoring.domain.anomalies import (
    BROKEN_LINK,
    DEFAULT_DETECTORS,
    DEFAULT_RESPONSES,
    KINDS,
    PACING_DRIFT,
    CompositeConfig,
    CompositeDetector,
    Detector,
    DetectorConfig,
    Monitor,
    Observation,
    State,
    detect,
    detector_for_metric,
    detectors_for,
    firing_times,
    responses_for,
)
from monitoring.domain.anomalies.baselines import Window
from monitoring.models import AnomalyKind, FlagResponse, FlagState

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, midnight


def at(hour):
    return T0 + timedelta(hours=hour)


def series(values, weight=1.0):
    return [Observation(at(i), v, weight) for i, v in enumerate(values)]


def changes(transitions):
    """(hour, from, to) of each transition: what the assertions read."""
    return [(int((t.at - T0) / timedelta(hours=1)), t.from_state, t.to_state) for t in transitions]


CPA_LIMIT = DetectorConfig(
    metric="cpa",
    direction=Direction.UP_IS_BAD,
    control_limit=28.0,
    min_samples=2,
    pending_for=3,
    resolve_after=2,
    cooldown=timedelta(hours=12),
)


def adaptive(metric, direction, **kw):
    settings = dict(baseline_points=8, min_samples=6, pending_for=2, resolve_after=2, k=3.0)
    settings.update(kw)
    return DetectorConfig(metric=metric, direction=direction, **settings)


# --- firing, explanations and states --------------------------------------------------


def test_cpa_above_the_control_limit_goes_pending_then_fires_then_resolves():
    values = [21.0, 22.5, 19.8, 41.2, 39.0, 41.2, 40.1, 23.0, 22.0, 21.5]
    transitions = detect(CPA_LIMIT, series(values, weight=30))
    assert changes(transitions) == [
        (3, State.INACTIVE, State.PENDING),
        (5, State.PENDING, State.FIRING),
        (8, State.FIRING, State.RESOLVED),
    ]
    pending, firing, resolved = transitions
    assert pending.explanation == "CPA 41.20 is above the control limit 28.00 for 1 h"
    assert firing.explanation == "CPA 41.20 is above the control limit 28.00 for 3 h"
    assert (firing.observed, firing.limit) == (41.2, 28.0)
    assert resolved.explanation == "CPA 22.00 is back within the control limit 28.00"
    assert firing_times(CPA_LIMIT, series(values)) == [at(5)]


def test_states_match_the_flag_model():
    assert {s.value for s in FlagState} == {"pending", "firing", "resolved"}
    assert {s.value for s in FlagState} < {s.value for s in State}
    assert set(KINDS) == {k.value for k in AnomalyKind} == set(DEFAULT_DETECTORS)
    assert set(DEFAULT_RESPONSES.values()) <= {r.value for r in FlagResponse}


def test_a_cpa_rise_fires_but_a_ctr_rise_does_not():
    usual = [1.1, 1.0, 1.2, 1.1, 1.05, 1.15, 1.1, 1.0]
    rise = [2.4, 2.6, 2.5, 2.7]
    ctr = adaptive("ctr", Direction.DOWN_IS_BAD)
    assert detect(ctr, series(usual + rise)) == []
    cpa = adaptive("cpa", Direction.UP_IS_BAD)
    assert firing_times(cpa, series([20 * v for v in usual + rise])) == [at(9)]


def test_a_ctr_drop_fires_and_says_what_is_usual():
    usual = [1.1, 1.0, 1.2, 1.1, 1.05, 1.15, 1.1, 1.0]
    drop = [0.4, 0.5, 0.4, 0.4, 0.4]
    config = adaptive("ctr", Direction.DOWN_IS_BAD, pending_for=5)
    firing = [t for t in detect(config, series(usual + drop)) if t.to_state is State.FIRING]
    assert [t.at for t in firing] == [at(12)]
    assert firing[0].explanation == "CTR 0.4 % is below its usual 1.1 % for 5 h"
    # and a CPA drop is good news
    cpa = adaptive("cpa", Direction.UP_IS_BAD)
    assert detect(cpa, series([20 * v for v in usual + drop])) == []


def test_a_cpm_spike_is_explained_against_its_seven_day_median():
    week = [9.0, 9.1, 9.2, 9.1] * 42  # 168 hourly points, median 9.10
    config = replace(DEFAULT_DETECTORS["cpm_spike"], min_weight=0)
    transitions = detect(config, series([*week, 14.8, 14.8, 14.8, 9.1, 9.0, 9.2]))
    assert changes(transitions) == [
        (168, State.INACTIVE, State.PENDING),
        (170, State.PENDING, State.FIRING),
        (173, State.FIRING, State.RESOLVED),
    ]
    assert transitions[1].explanation == "CPM 14.80 is 63 % above its 7-day median of 9.10 for 3 h"
    assert transitions[2].explanation == "CPM 9.20 is back near its 7-day median of 9.10"


def test_a_single_noisy_spike_does_not_fire():
    # Alone, one bad hour only goes pending and clears.
    assert changes(detect(CPA_LIMIT, series([21.0, 22.0, 20.5, 90.0, 21.0, 22.0]))) == [
        (3, State.INACTIVE, State.PENDING),
        (4, State.PENDING, State.INACTIVE),
    ]


def test_a_spike_from_one_conversion_is_pooled_with_its_neighbours():
    # (CPA, conversions) per hour: the 90.00 is one conversion's worth of noise.
    hours = [(20.0, 4), (22.0, 3), (90.0, 1), (21.0, 4), (19.0, 3), (20.0, 4), (23.0, 4)]
    points = [Observation(at(i), cpa, conversions) for i, (cpa, conversions) in enumerate(hours)]
    config = replace(CPA_LIMIT, min_samples=0, pending_for=1, min_weight=10)
    # pooled: (80 + 66 + 90 + 84) / 12 = 26.67, then (57 + 80 + 92) / 11 = 20.82
    assert detect(config, points) == []
    assert firing_times(replace(config, min_weight=0), points) == [at(2)]


def test_spend_without_conversions_counts_when_pooling_cpa():
    # (spend, conversions): the middle hour converts nothing but still spent 40.
    buckets = [
        Bucket(spend=60.0, conversions=3),
        Bucket(spend=40.0),
        Bucket(spend=50.0, conversions=2),
    ]
    points = [Observation.of("cpa", at(i), b) for i, b in enumerate(buckets)]
    assert reading("cpa", buckets[1]).weight == 0
    config = replace(CPA_LIMIT, min_samples=0, pending_for=1, min_weight=5)
    [fired] = detect(config, points)
    assert fired.observed == 150 / 5  # not 110 / 5 = 22, which would not fire
    assert fired.at == at(2)


def test_nothing_fires_before_min_samples():
    config = replace(CPA_LIMIT, min_samples=5)
    transitions = detect(config, series([40.0] * 8))
    assert changes(transitions) == [
        (5, State.INACTIVE, State.PENDING),
        (7, State.PENDING, State.FIRING),
    ]
    # an adaptive detector has no baseline to judge against before then either
    ctr = adaptive("ctr", Direction.DOWN_IS_BAD, min_samples=6)
    assert detect(ctr, series([1.1, 1.0, 0.2, 0.1, 0.1, 0.1])) == []


def test_a_long_incident_is_one_firing_and_one_resolution():
    noisy_incident = [41.0, 39.5, 40.0, 27.0, 44.0, 38.0, 26.5, 27.5, 42.0, 39.0] * 3
    values = [21.0, 22.0, 20.0, *noisy_incident, 22.0, 21.0, 20.0, 23.0]
    config = replace(CPA_LIMIT, resolve_after=3)
    transitions = detect(config, series(values))
    assert [t.to_state for t in transitions] == [State.PENDING, State.FIRING, State.RESOLVED]
    assert changes(transitions)[-1] == (35, State.FIRING, State.RESOLVED)


def test_a_relapse_inside_the_cooldown_does_not_open_a_second_incident():
    values = [21.0, 22.0, 20.0, 41.0, 40.0, 42.0, 21.0, 20.0]  # resolves at hour 7
    relapse = [39.0, 41.0, 40.0, 22.0]  # hours 8-11: inside the 12 h cooldown
    quiet = [21.0] * 7  # hours 12-18
    later = [45.0, 44.0, 46.0]  # hours 19-21: after it
    transitions = detect(CPA_LIMIT, series(values + relapse + quiet + later))
    assert changes(transitions) == [
        (3, State.INACTIVE, State.PENDING),
        (5, State.PENDING, State.FIRING),
        (7, State.FIRING, State.RESOLVED),
        (19, State.RESOLVED, State.PENDING),
        (21, State.PENDING, State.FIRING),
    ]


def test_decisions_never_look_ahead():
    values = [
        1.1,
        1.0,
        1.2,
        1.1,
        1.05,
        1.15,
        1.1,
        1.0,
        0.4,
        0.5,
        1.1,
        0.3,
        0.3,
        0.35,
        1.0,
        1.1,
        1.2,
    ]
    config = adaptive("ctr", Direction.DOWN_IS_BAD)
    points = series(values)
    full = detect(config, points)
    assert full  # the series has something to find
    for n in range(1, len(points) + 1):
        assert detect(config, points[:n]) == [t for t in full if t.at <= points[n - 1].at]


def test_old_or_repeated_points_are_ignored():
    detector = Detector(CPA_LIMIT)
    for point in series([21.0, 22.0, 20.0, 41.0]):
        detector.observe(point)
    assert detector.state is State.PENDING
    assert detector.observe(Observation(at(3), 41.0)) == []  # redelivered batch
    assert detector.observe(Observation(at(1), 50.0)) == []
    assert [t.to_state for t in detector.observe(Observation(at(4), 45.0))] == []
    assert [t.to_state for t in detector.observe(Observation(at(5), 45.0))] == [State.FIRING]


# --- the kinds' own detectors --------------------------------------------------------


def test_a_broken_link_fires_on_the_first_failing_bucket():
    failures = [0, 0, 1, 0, 12, 12, 11, 0, 0, 0]
    config = DEFAULT_DETECTORS[BROKEN_LINK]
    detector = Detector(config)
    transitions = []
    for hour, failed in enumerate(failures):
        transitions += detector.observe_bucket(
            at(hour), Bucket(link_checks=12, link_failures=failed)
        )
    assert changes(transitions) == [
        (4, State.INACTIVE, State.FIRING),
        (8, State.FIRING, State.RESOLVED),
    ]
    assert (
        transitions[0].explanation
        == "Link failures 100.0 % is above the control limit 50.0 % for 1 h"
    )


def test_pacing_drift_fires_either_way_on_a_trailing_day():
    config = detectors_for(PACING_DRIFT, pacing_tolerance_pct=10)

    def run(spends):
        detector = Detector(config)
        out = []
        for hour, spend in enumerate(spends):
            out += detector.observe_bucket(at(hour), Bucket(spend=spend, planned_spend=100.0))
        return out

    # a day on plan, then twice the plan: +4.2 % of a day per hour, past +10 % in the 3rd
    over = run([100.0] * 24 + [200.0] * 6)
    assert changes(over) == [(26, State.INACTIVE, State.PENDING), (27, State.PENDING, State.FIRING)]
    assert over[1].explanation == "Spend pace +17 % is above the control limit +10 % for 2 h"
    under = run([100.0] * 24 + [0.0] * 6)
    assert [t.to_state for t in under] == [State.PENDING, State.FIRING]
    assert "below the control limit -10 %" in under[1].explanation
    # hourly swings that even out over the day are fine
    assert run([60.0, 140.0] * 24) == []


FATIGUE = CompositeConfig(
    parts=(
        adaptive("frequency", Direction.UP_IS_BAD, min_change=0.2),
        adaptive("ctr", Direction.DOWN_IS_BAD, min_change=0.2),
    ),
    pending_for=2,
    resolve_after=2,
)


def fatigue_run(frequencies, ctrs):
    detector = CompositeDetector(FATIGUE)
    out = []
    for hour, (f, c) in enumerate(zip(frequencies, ctrs, strict=True)):
        out += detector.observe(
            at(hour), {"frequency": Observation(at(hour), f), "ctr": Observation(at(hour), c)}
        )
    return out


def test_audience_fatigue_needs_frequency_up_and_ctr_down_together():
    usual_f = [1.15, 1.2, 1.1, 1.15, 1.2, 1.15, 1.1, 1.15]
    usual_c = [1.0, 1.1, 1.0, 0.95, 1.05, 1.0, 1.1, 1.0]
    # frequency up alone (a retargeting push), or CTR down alone: no flag
    assert fatigue_run([*usual_f, 1.9, 2.0, 2.1], [*usual_c, 1.0, 1.05, 1.0]) == []
    assert fatigue_run([*usual_f, 1.15, 1.2, 1.1], [*usual_c, 0.5, 0.5, 0.45]) == []
    both = fatigue_run([*usual_f, 1.9, 2.0, 2.1, 1.2, 1.1], [*usual_c, 0.6, 0.5, 0.45, 1.0, 1.0])
    assert changes(both) == [
        (8, State.INACTIVE, State.PENDING),
        (9, State.PENDING, State.FIRING),
        (12, State.FIRING, State.RESOLVED),
    ]
    assert both[1].explanation == (
        "Frequency 2.00 is 74 % above its 8-hour median of 1.15 and "
        "CTR 0.5 % is below its usual 1.0 % for 2 h"
    )


def test_default_responses_can_be_overridden_by_a_brand():
    responses = responses_for({"cpm_spike": "escalate"})
    assert responses["cpm_spike"] == "escalate"
    assert responses["broken_link"] == DEFAULT_RESPONSES["broken_link"] == "pause"
    with pytest.raises(ValueError, match="Unknown response"):
        responses_for({"cpm_spike": "panic"})
    with pytest.raises(ValueError, match="Unknown anomaly kind"):
        responses_for({"cpa_spike": "pause"})


def test_backtest_detectors_are_the_live_ones():
    assert detector_for_metric("cpm") == DEFAULT_DETECTORS["cpm_spike"]
    cpa = detector_for_metric("cpa", control_limit=28)
    assert (cpa.control_limit, cpa.direction) == (28, Direction.UP_IS_BAD)
    assert detector_for_metric("ctr").direction == Direction.DOWN_IS_BAD
    assert detector_for_metric(None).direction == Direction.EITHER_IS_BAD


# --- state survives a restart --------------------------------------------------------


def round_trip(detector_class, config, feed, points, split):
    """Feed ``points[:split]``, snapshot through JSON, restore, feed the rest."""
    first = detector_class(config)
    out = [t for p in points[:split] for t in feed(first, p)]
    stored = json.loads(json.dumps(first.snapshot(), allow_nan=False))  # strict JSON
    second = detector_class.restore(config, stored)
    out += [t for p in points[split:] for t in feed(second, p)]
    return out


def test_snapshot_round_trip_equals_feeding_everything():
    values = [21.0, 23.0, 19.0, 20.0, 22.0, 35.0, 36.0, 34.0, 40.0, 21.0, 20.0, 22.0, 50.0, 21.0]
    weights = [3.0, 6.0, 2.0, 9.0, 1.0, 8.0, 7.0, 0.0, 9.0, 4.0, 5.0, 6.0, 1.0, 9.0]
    points = [
        Observation(at(i), v, w, None if w else 40.0)
        for i, (v, w) in enumerate(zip(values, weights, strict=True))
    ]
    configs = [
        adaptive("cpa", Direction.UP_IS_BAD, min_samples=3, min_weight=8),
        adaptive("cpa", Direction.UP_IS_BAD, min_samples=3, smooth_points=3, smooth_weight=10),
        replace(CPA_LIMIT, min_weight=5),
    ]
    for config in configs:
        expected = detect(config, points)
        assert expected, config
        for split in range(len(points) + 1):
            assert round_trip(Detector, config, Detector.observe, points, split) == expected


def test_composite_snapshot_round_trip():
    frequencies = [1.15, 1.2, 1.1, 1.15, 1.2, 1.15, 1.1, 1.15, 1.9, 2.0, 2.1, 1.2, 1.1]
    ctrs = [1.0, 1.1, 1.0, 0.95, 1.05, 1.0, 1.1, 1.0, 0.6, 0.5, 0.45, 1.0, 1.0]
    points = list(enumerate(zip(frequencies, ctrs, strict=True)))

    def feed(detector, point):
        hour, (f, c) = point
        return detector.observe(
            at(hour), {"frequency": Observation(at(hour), f), "ctr": Observation(at(hour), c)}
        )

    expected = fatigue_run(frequencies, ctrs)
    for split in range(len(points) + 1):
        assert round_trip(CompositeDetector, FATIGUE, feed, points, split) == expected


def test_a_monitor_runs_every_kind_and_snapshots_as_json():
    monitor = Monitor()
    flagged = []
    for hour in range(6):
        failed = 12 if hour >= 4 else 0
        bucket = Bucket(
            impressions=9000,
            clicks=90,
            conversions=4,
            spend=80.0,
            reach=7800,
            link_checks=12,
            link_failures=failed,
            planned_spend=80.0,
        )
        flagged += monitor.observe(at(hour), bucket)
    assert [(f.kind, f.response, f.transition.to_state) for f in flagged] == [
        ("broken_link", "pause", State.FIRING)
    ]
    restored = Monitor.restore(json.loads(json.dumps(monitor.snapshot(), allow_nan=False)))
    assert restored.detectors["broken_link"].state is State.FIRING


# --- metrics and the robust window ---------------------------------------------------


def test_metrics_read_from_a_bucket_with_their_volume():
    bucket = Bucket(
        impressions=12000,
        clicks=132,
        conversions=6,
        spend=109.2,
        reach=10000,
        link_checks=12,
        link_failures=3,
        leads=6,
        qualified_leads=3,
        planned_spend=100.0,
    )
    assert (
        reading("cpa", bucket).value == pytest.approx(18.2) and reading("cpa", bucket).weight == 6
    )
    assert metric_value("cpm", bucket) == pytest.approx(9.1)
    assert metric_value("ctr", bucket) == pytest.approx(1.1)
    assert metric_value("frequency", bucket) == pytest.approx(1.2)
    assert metric_value("spend_pace", bucket) == pytest.approx(9.2)
    assert metric_value("link_health", bucket) == pytest.approx(25.0)
    # too little volume to say: a CPA from 6 conversions, lead quality from 6 leads
    assert metric_value("cpa", bucket) is None and metric_value("lead_quality", bucket) is None
    assert reading("cpm", Bucket()) is None and reading("spend_pace", Bucket(spend=5.0)) is None
    # database rows carry Decimal spend
    assert reading("cpa", Bucket(spend=Decimal("41.20"), conversions=2)).value == 20.6


@pytest.mark.parametrize(
    "values",
    [
        [5.0],
        [1.0, 2.0],
        [3.0, 1.0, 2.0],
        [1.0, 1.0, 1.0, 9.0],
        [9.1, 9.0, 14.8, 9.2, 9.1, 0.5, 9.3],
        [2.0, 2.0, 7.0, 1.0, 2.0, 8.0],
    ],
)
def test_the_window_median_and_mad_match_the_textbook(values):
    window = Window(len(values), values)
    median = statistics.median(values)
    assert window.median() == median
    assert window.mad(median) == pytest.approx(statistics.median(abs(v - median) for v in values))


def test_the_window_keeps_only_the_trailing_points():
    window = Window(3, [1.0, 50.0, 2.0, 3.0, 4.0])
    assert list(window.fifo) == [2.0, 3.0, 4.0] and window.sorted == [2.0, 3.0, 4.0]


def test_skipping_healthy_points_while_idle_changes_no_transition():
    """The ingestion skips healthy link checks on an idle series (``Detector.idle``):
    judging them would change no transition. Literal series of (checks, failures)."""
    from campaigns.domain.metrics import Bucket
    from monitoring.domain.anomalies import Detector, detectors_for

    checks = [(12, 0), (12, 0), (12, 12), (12, 11), (12, 0), (12, 0), (12, 0), (12, 0), (12, 9)]
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    every, skipping = (Detector(detectors_for("broken_link")) for _ in range(2))
    told_every, told_skipping = [], []
    for i, (n, failed) in enumerate(checks):
        at, bucket = start + timedelta(minutes=5 * i), Bucket(link_checks=n, link_failures=failed)
        told_every += [(t.at, t.to_state) for t in every.observe_bucket(at, bucket)]
        if skipping.idle and failed == 0:
            continue
        told_skipping += [(t.at, t.to_state) for t in skipping.observe_bucket(at, bucket)]
    assert told_every == told_skipping and told_every
