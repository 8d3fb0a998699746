"""The chart builders on literal data: no database, no browser."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from campaigns.domain.performance import AnomalyMarker, BandPoint, MetricPoint, SpendPoint
from controltower import charts

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def naive(hours: int) -> datetime:
    return at(hours).replace(tzinfo=None)


SPEND = [SpendPoint(at(0), Decimal("100.00")), SpendPoint(at(1), Decimal("250.50"))]
PLAN = [SpendPoint(at(0), Decimal("0")), SpendPoint(at(10), Decimal("1000.00"))]
CPA = [MetricPoint(at(0), 24.0), MetricPoint(at(1), 31.5), MetricPoint(at(2), 41.2)]
CPA_FLAG = AnomalyMarker(at(1), "CPA above control limit", "CPA 41.20 is above 28.00 for 3 h")


def traces(fig):
    return {trace.name: trace for trace in fig.data}


def test_pacing_figure_draws_actual_against_plan():
    fig = charts.budget_pacing_figure(SPEND, planned=PLAN, currency="USD")

    by_name = traces(fig)
    assert list(by_name) == ["Actual spend", "Planned spend"]
    assert by_name["Actual spend"].x == (naive(0), naive(1))
    assert by_name["Actual spend"].y == (100.0, 250.5)
    assert by_name["Planned spend"].x == (naive(0), naive(10))
    assert by_name["Planned spend"].y == (0.0, 1000.0)
    # Told apart by dash and marker shape, not by colour alone.
    assert by_name["Actual spend"].line.dash is None
    assert by_name["Planned spend"].line.dash == "dash"
    assert by_name["Planned spend"].marker.symbol == "diamond-open"


def test_pacing_figure_is_labelled_for_everyone():
    fig = charts.budget_pacing_figure(SPEND, planned=PLAN, currency="EUR")

    assert fig.layout.title.text == "Cumulative spend against the plan"
    assert fig.layout.xaxis.title.text == "Time"
    assert fig.layout.yaxis.title.text == "Cumulative spend (EUR)"
    assert fig.layout.showlegend is not False
    assert not fig.layout.annotations


def test_pacing_figure_without_spend_says_so():
    fig = charts.budget_pacing_figure([], planned=PLAN, currency="USD")

    assert traces(fig)["Actual spend"].x == ()
    assert [a.text for a in fig.layout.annotations] == ["No spend yet"]


def test_performance_figure_draws_metric_control_limit_and_anomalies():
    fig = charts.performance_figure(
        CPA, metric_label="CPA (USD)", control_limit=28.0, anomalies=[CPA_FLAG]
    )

    by_name = traces(fig)
    assert list(by_name) == ["CPA (USD)", "Control limit (28)", "Anomaly flag"]
    assert by_name["CPA (USD)"].y == (24.0, 31.5, 41.2)
    limit = by_name["Control limit (28)"]
    assert limit.y == (28.0, 28.0)
    assert limit.x == (naive(0), naive(2))  # spans the whole series
    assert limit.line.dash == "dash" and by_name["CPA (USD)"].line.dash is None
    flags = by_name["Anomaly flag"]
    assert flags.mode == "markers"
    assert flags.x == (naive(1),)
    assert flags.y == (31.5,)  # sits on the bucket the flag opened in
    assert flags.hovertext == ("CPA above control limit: CPA 41.20 is above 28.00 for 3 h",)
    # Marker shapes differ: the metric's circles, the flag's cross.
    assert by_name["CPA (USD)"].marker.symbol == "circle"
    assert flags.marker.symbol == "x"
    assert fig.layout.title.text == "CPA (USD) against the control limit"
    assert fig.layout.yaxis.title.text == "CPA (USD)"


def test_anomaly_after_the_last_bucket_sits_on_the_last_value():
    late = AnomalyMarker(at(5), "CPM spike", "CPM 14.80")
    early = AnomalyMarker(at(-3), "Broken link", "404 on the landing page")

    fig = charts.performance_figure(
        CPA, metric_label="CPA (USD)", control_limit=None, anomalies=[early, late]
    )

    flags = traces(fig)["Anomaly flag"]
    assert flags.y == (24.0, 41.2)
    assert "Control limit" not in " ".join(traces(fig))


def test_performance_figure_without_data_says_so():
    fig = charts.performance_figure(
        [], metric_label="Conversions per hour", control_limit=None, anomalies=[]
    )

    assert list(traces(fig)) == ["Conversions per hour"]
    assert fig.layout.title.text == "Conversions per hour"
    assert [a.text for a in fig.layout.annotations] == ["No performance data yet"]


def test_figure_data_is_plain_json_with_wall_clock_times():
    data = charts.figure_data(charts.budget_pacing_figure(SPEND, planned=PLAN, currency="USD"))

    json.dumps(data)  # nothing left that json_script could not encode
    actual = data["data"][0]
    assert actual["name"] == "Actual spend"
    # No offset: plotly.js would misread one.
    assert actual["x"] == ["2025-03-01T09:00:00", "2025-03-01T10:00:00"]
    assert actual["y"] == [100.0, 250.5]


def test_summaries_give_the_numbers_in_words():
    assert charts.pacing_summary(SPEND, planned=PLAN, currency="USD") == (
        "Spent 250.50 USD by 2025-03-01 10:00; the plan had spent 100.00 USD "
        "by then and reaches 1,000.00 USD on 2025-03-01."
    )
    assert charts.pacing_summary(SPEND, planned=[], currency="USD").endswith(
        "no spend plan until the campaign launches."
    )
    assert charts.pacing_summary([], planned=PLAN, currency="USD") == "No spend yet."

    summary = charts.performance_summary(
        CPA, metric_label="CPA (USD)", control_limit=28.0, anomalies=[CPA_FLAG]
    )
    assert summary == (
        "CPA (USD): latest 41.20 at 2025-03-01 11:00, between 24 and 41.20 over 3 buckets. "
        "Control limit 28. Anomaly flags: CPA above control limit at 2025-03-01 10:00."
    )
    assert (
        charts.performance_summary([], metric_label="CPA", control_limit=None, anomalies=[])
        == "No performance data yet."
    )


def test_the_expected_range_is_drawn_under_the_line_and_said_in_words():
    band = [
        BandPoint(at(0), None, None),
        BandPoint(at(1), 18.0, 30.0),
        BandPoint(at(2), 19.0, None),
    ]
    fig = charts.performance_figure(
        CPA, metric_label="CPA (USD)", control_limit=None, anomalies=[CPA_FLAG], band=band
    )
    names = [trace.name for trace in fig.data]
    assert names[:3] == ["Expected (upper)", "Expected range", "CPA (USD)"]
    upper, lower = fig.data[0], fig.data[1]
    # A point with no expectation yet is not drawn; an open side follows the line.
    assert list(upper.y) == [30.0, 41.2] and list(lower.y) == [18.0, 19.0]
    assert lower.fill == "tonexty"
    summary = charts.performance_summary(
        CPA, metric_label="CPA (USD)", control_limit=None, anomalies=[], band=band
    )
    assert "Expected range at 2025-03-01 11:00: at least 19." in summary
