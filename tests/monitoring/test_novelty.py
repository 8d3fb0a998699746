"""The novelty judge (``monitoring.domain.novelty``) and the detectors built on it: pure
rules, no database."""

import json
import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.domain.metrics import Direction
from monitoring.domain.anomalies import Detector, Observation, State, detect, novelty_detector
from monitoring.domain.novelty import LEVEL, SEASON, SMOOTHED, SWING, NoveltyJudge, NoveltySettings

T0 = datetime(2026, 3, 2, tzinfo=UTC)
#: Small numbers, and values learned as soon as judged, to test one rule at a time.
SMALL = NoveltySettings(
    history=400, min_history=50, confident_after=50, learn_pause=10, learn_delay=0
)
LEVEL_ONLY = replace(SMALL, swing=False, smoothed_margin=100.0)


def noisy(n, seed=1, level=10.0, noise=1.0):
    rng = random.Random(seed)
    return [level + rng.gauss(0, noise) for _ in range(n)]


def judge(values, settings=SMALL, up=True, down=True, period=0):
    j = NoveltyJudge(settings, up=up, down=down, period=period)
    return j, [j.judge(v) for v in values]


def test_nothing_is_judged_before_min_history():
    _, verdicts = judge(noisy(49))
    assert verdicts == [None] * 49


def test_a_value_beyond_the_most_extreme_by_the_margin_is_novel_and_within_it_is_not():
    history = noisy(200)
    j, _ = judge(history)
    median = sorted(history)[100]
    highest = max(history)
    reach = (highest - median) * (1 + SMALL.margin)
    inside = median + reach * 0.98
    assert j.judge(inside).views == ()  # beyond the record, not beyond the margin
    j, _ = judge(history)
    verdict = j.judge(median + reach * 1.05)
    assert verdict.bad and LEVEL in verdict.views
    assert verdict.high == pytest.approx(median + reach, rel=0.01)


def test_the_margin_is_wider_while_history_is_short():
    short = replace(SMALL, confident_after=800)
    values = noisy(60)
    j_short, _ = judge(values, short)
    j_long, _ = judge(values, SMALL)
    assert j_short.judge(10.0).high > j_long.judge(10.0).high


def test_only_the_bad_side_counts():
    history = noisy(200)
    j, _ = judge(history, LEVEL_ONLY, up=True, down=False)
    assert not j.judge(-50.0).bad
    j, _ = judge(history, LEVEL_ONLY, up=False, down=True)
    assert j.judge(-50.0).bad
    assert not judge(history, LEVEL_ONLY, up=False, down=True)[0].judge(500.0).bad


def test_a_sustained_bump_no_single_point_makes_extreme_is_found_by_the_smoothed_view():
    history = noisy(300, noise=1.0)
    highest = max(history)
    bump = [10.0 + 0.8 * (highest - 10.0)] * 12  # high, but each point below the record
    j, _ = judge(history)
    views = set()
    for v in bump:
        verdict = j.judge(v)
        views.update(verdict.views)
    assert LEVEL not in views and SMOOTHED in views


def test_a_series_that_starts_thrashing_is_found_by_the_swing_view():
    # Swinging ±3 around the usual level: no point beyond the record, the swing is new.
    history = noisy(300)
    thrash = [10 + (2.5 if i % 2 else -2.5) for i in range(24)]
    assert max(thrash) < max(history) and min(thrash) > min(history)
    j, _ = judge(history)
    assert any(SWING in j.judge(v).views for v in thrash)
    # without the swing view (an up-only cost), the same moves are not bad
    j, _ = judge(history, replace(SMALL, swing=False, smoothed_margin=100.0), down=False)
    assert not any(j.judge(v).bad for v in thrash)


def test_the_season_view_knows_the_time_of_day():
    day = [10 + 5 * math.sin(2 * math.pi * h / 24) for h in range(24)]
    rng = random.Random(3)
    history = [v + rng.gauss(0, 0.2) for _ in range(12) for v in day]
    j, _ = judge(history, period=24)
    # 15.0 is the usual peak (06:00) arriving at 18:00, the trough
    verdicts = [j.judge(15.0 if h >= 18 else day[h]) for h in range(24)]
    assert any(SEASON in v.views for v in verdicts[18:])
    assert not any(v.bad for v in verdicts[:18])


def test_an_incident_does_not_raise_the_bar_for_the_next_one():
    settings = replace(SMALL, learn_pause=20, swing=False)
    history = noisy(300)
    incident = [30.0] + [25.0] * 14  # fires on the spike; the elevated hours follow
    later = noisy(30, seed=2) + [20.0] * 12  # a sustained bump, each point below 25

    def smoothed_novel(pause: bool) -> bool:
        j, _ = judge(history, settings)
        j.judge(incident[0])
        if pause:
            j.fired()
        for v in incident[1:] + later[:-12]:
            j.judge(v)
        return any(SMOOTHED in j.judge(v).views for v in later[-12:])

    assert smoothed_novel(pause=True)
    # had the incident's hours been learned, the bump would look like nothing new
    assert not smoothed_novel(pause=False)


def test_a_slow_slide_is_judged_against_where_the_series_was():
    # 0.15 a point below the record each step: learned at once, each step is a tiny new
    # record and never novel; learned 36 points later, the slide is judged as a whole.
    history = noisy(300, noise=0.5)
    slide = [min(history) - 0.15 * i for i in range(1, 41)]
    eager, _ = judge(history, LEVEL_ONLY)
    assert not any(eager.judge(v).bad for v in slide)
    patient, _ = judge(history, replace(LEVEL_ONLY, learn_delay=36))
    assert any(patient.judge(v).bad for v in slide)


def test_snapshot_and_restore_continue_exactly():
    values = [*noisy(500, seed=5), 40.0, *noisy(100, seed=6)]
    config = novelty_detector(novelty=replace(SMALL, learn_delay=5))
    whole = detect(config, [Observation(T0 + timedelta(hours=i), v) for i, v in enumerate(values)])
    first = Detector(config)
    out = []
    for i, v in enumerate(values[:300]):
        out += first.observe(Observation(T0 + timedelta(hours=i), v))
    snapshot = json.loads(json.dumps(first.snapshot(), allow_nan=False))
    second = Detector.restore(config, snapshot)
    for i, v in enumerate(values[300:], start=300):
        out += second.observe(Observation(T0 + timedelta(hours=i), v))
    assert out == whole and whole


def steady(n, seed=1):
    """A healthy series whose noise is bounded (9 to 11): nothing in it is new."""
    rng = random.Random(seed)
    return [10 + rng.uniform(-1, 1) for _ in range(n)]


def test_healthy_noise_raises_at_most_one_flag_per_thousand_points():
    # The documented price of sensitivity (novelty.py): white noise sets records now and
    # then in its smoothed and seasonal views, never in its level (bounded here).
    values = steady(3000)
    config = novelty_detector()
    fired = [
        t
        for t in detect(
            config, [Observation(T0 + timedelta(hours=i), v) for i, v in enumerate(values)]
        )
        if t.to_state is State.FIRING
    ]
    assert len(fired) <= 3
    assert not any(
        "above anything" in t.explanation or "below anything" in t.explanation for t in fired
    )


def test_one_incident_one_flag_with_its_band_and_since():
    values = steady(300) + [40.0] * 5 + steady(60, seed=9)
    config = novelty_detector(novelty=NoveltySettings(min_history=100))
    transitions = detect(
        config, [Observation(T0 + timedelta(hours=i), v) for i, v in enumerate(values)]
    )
    firing = [t for t in transitions if t.to_state is State.FIRING]
    assert len(firing) == 1
    (fired,) = firing
    assert fired.at == T0 + timedelta(hours=300) and fired.since == fired.at
    assert fired.observed == 40.0
    assert fired.expected_low < 10 < fired.expected_high < 40
    assert fired.explanation.startswith("value 40.00 is above anything in its last 11 days (")
    resolved = [t for t in transitions if t.to_state is State.RESOLVED]
    assert len(resolved) == 1 and "back within its usual range" in resolved[0].explanation


def test_settings_are_validated():
    with pytest.raises(ValueError):
        NoveltySettings(history=10, min_history=50)
    with pytest.raises(ValueError):
        NoveltySettings(smooth_points=0)
    # from JSON (a brand's overrides)
    config = novelty_detector(direction=Direction.UP_IS_BAD, novelty={"margin": 0.3})
    assert config.novelty == NoveltySettings(margin=0.3)


def test_a_backtest_is_the_live_detector_point_by_point():
    from monitoring.domain.anomalies import backtest, firing_times

    values = steady(300) + [40.0] * 5 + steady(60, seed=9)
    observations = [Observation(T0 + timedelta(hours=i), v) for i, v in enumerate(values)]
    config = novelty_detector(novelty=NoveltySettings(min_history=100))
    points = backtest(config, observations)
    assert [p.at for p in points if p.fired] == firing_times(config, observations)
    assert len(points) == len(values)
    # a band once judged, and the spike outside it
    assert points[50].high is None and points[150].high is not None
    spike = points[300]
    assert spike.bad and spike.value == 40.0 and spike.high < 40.0
