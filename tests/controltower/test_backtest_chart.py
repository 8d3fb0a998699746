"""The backtest's chart and sentence, from plain points (no database)."""

import json
import math
from datetime import UTC, datetime, timedelta

from campaigns.domain.performance import BandPoint, MetricPoint
from controltower import charts
from monitoring.domain.anomalies import BacktestPoint

T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)  # a Tuesday


def point(hour, value, *, low=None, high=0.48, bad=False, fired=False):
    return BacktestPoint(T0 + timedelta(hours=hour), value, low, high, bad, fired)


QUIET = [point(h, 0.4) for h in range(5)]
SPIKE = [*QUIET, point(5, 0.6, bad=True), point(6, 0.62, bad=True, fired=True), point(7, 0.41)]


def test_the_figure_marks_where_it_would_have_flagged_on_the_band():
    fig = charts.backtest_figure(
        SPIKE, metric_label="CPC (USD)", short_label="CPC", unit="currency", control_limit=None
    )
    traces = {trace.name: trace for trace in fig.data}
    fired = traces["Would have flagged"]
    assert list(fired.y) == [0.62]
    assert list(fired.hovertext) == ["Would have flagged: CPC 0.62, expected up to 0.48"]
    # The band's open side follows the line, but never past the ceiling: the spike is
    # outside the band, not inside a band stretched up to it.
    assert list(traces["Expected range"].y) == [0.4] * 5 + [0.48, 0.48, 0.41]
    assert fig.layout.title.text == "CPC (USD): what the live detector would have flagged"


def test_an_unjudgeable_point_leaves_the_line_but_keeps_its_marker():
    """A pool with spend and no conversion judges as an infinite CPA: JSON has no
    infinity, so the line skips it."""
    points = [*QUIET, point(5, math.inf, bad=True, fired=True)]
    fig = charts.backtest_figure(
        points, metric_label="CPA (USD)", short_label="CPA", unit="currency", control_limit=28
    )
    data = charts.figure_data(fig)
    json.dumps(data, allow_nan=False)
    line = {trace["name"]: trace for trace in data["data"]}["CPA (USD)"]
    assert len(line["y"]) == 5
    assert charts.backtest_summary(
        points, short_label="CPA", unit="currency", hours=6, hours_with_metric=6, hours_to_judge=0
    ) == ("Would have flagged 1 time in 6 hours: Tue 14:00 (CPA ∞, expected up to 0.48).")


def test_the_sentence_names_each_firing_and_when():
    said = charts.backtest_summary(
        SPIKE,
        short_label="CPC",
        unit="currency",
        hours=9 * 24,
        hours_with_metric=200,
        hours_to_judge=0,
    )
    # Over more than a week a weekday alone is ambiguous: the date is said too.
    assert said == (
        "Would have flagged 1 time in 9 days: Tue 4 Mar 15:00 (CPC 0.62, expected up to 0.48)."
    )
    many = [point(h, 0.7, bad=True, fired=True) for h in range(7)]
    said = charts.backtest_summary(
        many,
        short_label="CPC",
        unit="currency",
        hours=30,
        hours_with_metric=30,
        hours_to_judge=0,
    )
    assert said.startswith("Would have flagged 7 times in 30 hours: Tue 09:00 (CPC 0.70, ")
    assert said.endswith("; and 2 more.")


def test_the_sentence_says_what_is_missing_when_it_cannot_judge():
    def say(points, **counts):
        return charts.backtest_summary(points, short_label="CPC", unit="currency", **counts)

    assert say(QUIET, hours=5, hours_with_metric=5, hours_to_judge=0) == (
        "Would not have flagged in 5 hours."
    )
    warming = [point(h, 0.4, high=None) for h in range(10)]
    assert say(warming, hours=10, hours_with_metric=10, hours_to_judge=39) == (
        "Would not have flagged in 10 hours; needs about 39 more hours of history before it judges."
    )
    assert say([], hours=30, hours_with_metric=0, hours_to_judge=49) == (
        "Nothing to backtest: no CPC in the 30 hours of delivery reported."
    )
    assert say([], hours=0, hours_with_metric=0, hours_to_judge=49) == (
        "Nothing to backtest yet: no hourly delivery has been reported."
    )


def test_a_band_open_below_stays_at_or_above_its_floor():
    series = [MetricPoint(T0, 0.8), MetricPoint(T0 + timedelta(hours=1), 1.4)]
    band = [BandPoint(T0, 1.0, None), BandPoint(T0 + timedelta(hours=1), 1.0, None)]
    fig = charts.performance_figure(
        series, metric_label="CTR (%)", control_limit=None, anomalies=[], band=band
    )
    assert list(fig.data[0].y) == [1.0, 1.4]  # the upper edge: the line, not under the floor
