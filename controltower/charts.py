"""Pure plotly figure builders: plain data in, a ``plotly.graph_objects.Figure`` out.

No database here. Selectors produce the series (``campaigns.domain.performance`` types);
the page embeds ``figure_data(fig)`` with ``json_script`` and ``static/js/charts.js``
hands it to the vendored plotly.js. Each builder has a ``*_summary`` twin: the same
numbers as one sentence, the chart's text alternative.

Accessibility: every figure has a title, axis titles and a legend, and series differ by
line dash and marker shape, never by colour alone.

The experiments' figures are the agents' (``agents.charts``), with the basics every
figure shares (the layout, ``figure_data``…), imported from there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import pairwise

import plotly.graph_objects as go

from agents.charts import ACTUAL_COLOUR, TIME_FORMAT
from agents.charts import base_layout as _layout
from agents.charts import figure_data as figure_data  # the pages embed it from here
from agents.charts import plot_time as _plot_time
from agents.charts import say_empty as _say_empty
from campaigns.domain.metrics import format_band, format_value
from campaigns.domain.performance import AnomalyMarker, BandPoint, MetricPoint, SpendPoint
from monitoring.domain.anomalies import BacktestPoint

PLAN_COLOUR = "#5b6675"
LIMIT_COLOUR = "#b45309"
ANOMALY_COLOUR = "#b42318"
BAND_FILL = "rgba(31, 95, 191, 0.12)"
BAND_EDGE = "rgba(31, 95, 191, 0.35)"

NO_SPEND = "No spend yet"
NO_PERFORMANCE = "No performance data yet"


def budget_pacing_figure(
    points: Sequence[SpendPoint], *, planned: Sequence[SpendPoint], currency: str
) -> go.Figure:
    """Cumulative spend against the plan (from the first delivery, following the day)."""
    fig = go.Figure(
        layout=_layout(
            title="Cumulative spend against the plan",
            y_title=f"Cumulative spend ({currency})",
        )
    )
    fig.add_trace(
        go.Scatter(
            name="Actual spend",
            x=[_plot_time(p.at) for p in points],
            y=[float(p.amount) for p in points],
            mode="lines",
            line={"color": ACTUAL_COLOUR, "width": 2.5},
            hovertemplate=f"%{{y:,.2f}} {currency}<extra>Actual spend</extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            name="Planned spend",
            x=[_plot_time(p.at) for p in planned],
            y=[float(p.amount) for p in planned],
            mode="lines+markers",
            line={"color": PLAN_COLOUR, "width": 2, "dash": "dash"},
            marker={"symbol": "diamond-open", "size": 5},
            hovertemplate=f"%{{y:,.2f}} {currency}<extra>Planned spend</extra>",
        )
    )
    if not points:
        _say_empty(fig, NO_SPEND)
    return fig


def performance_figure(
    series: Sequence[MetricPoint],
    *,
    metric_label: str,
    control_limit: float | None,
    anomalies: Sequence[AnomalyMarker],
    band: Sequence[BandPoint] = (),
    title: str = "",
    anomaly_name: str = "Anomaly flag",
) -> go.Figure:
    """A metric per bucket, its control limit, the range the detector expected (``band``,
    drawn first, under the line) and where anomaly flags opened (``anomaly_name`` in the
    legend: a backtest marks where flags *would have* opened)."""
    title = title or (
        metric_label if control_limit is None else f"{metric_label} against the control limit"
    )
    fig = go.Figure(layout=_layout(title=title, y_title=metric_label))
    drawn = [b for b in band if b.low is not None or b.high is not None]
    if drawn:
        # Two traces: the upper edge, then the lower one filled up to it. An open side is
        # drawn at the line's own value, so the band never invents a limit — but never
        # beyond the other side: a value over its ceiling is outside the band, not in it.
        values = {p.at: p.value for p in series}
        fig.add_trace(
            go.Scatter(
                name="Expected (upper)",
                x=[_plot_time(b.at) for b in drawn],
                y=[b.high if b.high is not None else _open_side(values, b) for b in drawn],
                mode="lines",
                line={"color": BAND_EDGE, "width": 0.5},
                showlegend=False,
                hovertemplate="expected up to %{y:,.2f}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                name="Expected range",
                x=[_plot_time(b.at) for b in drawn],
                y=[b.low if b.low is not None else _open_side(values, b) for b in drawn],
                mode="lines",
                fill="tonexty",
                fillcolor=BAND_FILL,
                line={"color": BAND_EDGE, "width": 0.5},
                hovertemplate="expected from %{y:,.2f}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            name=metric_label,
            x=[_plot_time(p.at) for p in series],
            y=[p.value for p in series],
            mode="lines+markers",
            line={"color": ACTUAL_COLOUR, "width": 1.5},
            marker={"symbol": "circle", "size": 4},
            hovertemplate="%{y:,.2f}<extra></extra>",
        )
    )
    if control_limit is not None and series:
        fig.add_trace(
            go.Scatter(
                name=f"Control limit ({_number(control_limit)})",
                x=[_plot_time(series[0].at), _plot_time(series[-1].at)],
                y=[control_limit, control_limit],
                mode="lines",
                line={"color": LIMIT_COLOUR, "width": 2.5, "dash": "dash"},
                hovertemplate="%{y:,.2f}<extra>Control limit</extra>",
            )
        )
    if anomalies:
        fig.add_trace(
            go.Scatter(
                name=anomaly_name,
                x=[_plot_time(a.at) for a in anomalies],
                y=[_marker_height(a.at, series, control_limit) for a in anomalies],
                mode="markers",
                marker={
                    "symbol": "x",
                    "size": 14,
                    "color": ANOMALY_COLOUR,
                    "line": {"width": 1, "color": "#ffffff"},
                },
                hovertext=[f"{a.label}: {a.explanation}" for a in anomalies],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    if not series:
        _say_empty(fig, NO_PERFORMANCE)
    return fig


def pacing_summary(
    points: Sequence[SpendPoint], *, planned: Sequence[SpendPoint], currency: str
) -> str:
    if not points:
        return f"{NO_SPEND}."
    last = points[-1]
    sentence = f"Spent {_money(last.amount, currency)} by {last.at:{TIME_FORMAT}}"
    if not planned:
        return f"{sentence}; there is no spend plan until the campaign launches."
    by_then = _planned_at(planned, last.at)
    end = planned[-1]
    return (
        f"{sentence}; the plan had spent {_money(by_then, currency)} by then "
        f"and reaches {_money(end.amount, currency)} on {end.at:%Y-%m-%d}."
    )


def performance_summary(
    series: Sequence[MetricPoint],
    *,
    metric_label: str,
    control_limit: float | None,
    anomalies: Sequence[AnomalyMarker],
    band: Sequence[BandPoint] = (),
) -> str:
    if not series:
        return f"{NO_PERFORMANCE}."
    values = [p.value for p in series]
    last = series[-1]
    parts = [
        f"{metric_label}: latest {_number(last.value)} at {last.at:{TIME_FORMAT}}, "
        f"between {_number(min(values))} and {_number(max(values))} "
        f"over {len(series)} buckets"
    ]
    if control_limit is not None:
        parts.append(f"Control limit {_number(control_limit)}")
    latest = next((b for b in reversed(band) if b.low is not None or b.high is not None), None)
    if latest is not None:
        if latest.low is None:
            expected = f"up to {_number(latest.high)}"
        elif latest.high is None:
            expected = f"at least {_number(latest.low)}"
        else:
            expected = f"{_number(latest.low)} to {_number(latest.high)}"
        parts.append(f"Expected range at {latest.at:{TIME_FORMAT}}: {expected}")
    if anomalies:
        flags = "; ".join(f"{a.label} at {a.at:{TIME_FORMAT}}" for a in anomalies)
        parts.append(f"Anomaly flags: {flags}")
    return ". ".join(parts) + "."


WOULD_HAVE_FLAGGED = "Would have flagged"
#: Firing points a backtest's sentence names; the chart marks them all.
NAMED_FIRINGS = 5


def backtest_figure(
    points: Sequence[BacktestPoint],
    *,
    metric_label: str,
    short_label: str,
    unit: str,
    control_limit: float | None,
) -> go.Figure:
    """A backtest: each point the detector judged (pooled or smoothed as it judges them),
    the band it expected each in, and a marker where an incident would have fired."""
    return performance_figure(
        # TRICKY: a pool with spend and no conversion judges as an infinite CPA; JSON has no
        # infinity, so the line skips it (its marker, if it fired, sits on the last value).
        [MetricPoint(p.at, p.value) for p in points if math.isfinite(p.value)],
        metric_label=metric_label,
        control_limit=control_limit,
        anomalies=[
            AnomalyMarker(p.at, WOULD_HAVE_FLAGGED, _judged(p, short_label, unit))
            for p in points
            if p.fired
        ],
        band=[BandPoint(p.at, p.low, p.high) for p in points],
        title=f"{metric_label}: what the live detector would have flagged",
        anomaly_name=WOULD_HAVE_FLAGGED,
    )


def backtest_summary(
    points: Sequence[BacktestPoint],
    *,
    short_label: str,
    unit: str,
    hours: int,
    hours_with_metric: int,
    hours_to_judge: int,
) -> str:
    """The backtest in one sentence: "Would have flagged 2 times in 9 days: Tue 14:00 (CPC
    0.62, expected up to 0.48); …", or that it would not have (and what it still needs)."""
    span = _hours_span(hours)
    if not hours:
        return "Nothing to backtest yet: no hourly delivery has been reported."
    if not hours_with_metric:
        return f"Nothing to backtest: no {short_label} in the {span} of delivery reported."
    fired = [p for p in points if p.fired]
    if not fired:
        sentence = f"Would not have flagged in {span}"
        if hours_to_judge:
            sentence += (
                f"; needs about {hours_to_judge} more hour{'s' if hours_to_judge != 1 else ''}"
                " of history before it judges"
            )
        return sentence + "."
    times = "s" if len(fired) != 1 else ""
    long_ago = hours > 6 * 24  # beyond a week, a weekday alone is ambiguous
    named = "; ".join(
        f"{_when(p.at, dated=long_ago)} ({_judged(p, short_label, unit)})"
        for p in fired[:NAMED_FIRINGS]
    )
    more = f"; and {len(fired) - NAMED_FIRINGS} more" if len(fired) > NAMED_FIRINGS else ""
    return f"Would have flagged {len(fired)} time{times} in {span}: {named}{more}."


def _judged(point: BacktestPoint, short_label: str, unit: str) -> str:
    """ "CPC 0.62, expected up to 0.48" """
    text = f"{short_label} {format_value(unit, point.value)}"
    expected = format_band(unit, point.low, point.high)
    return f"{text}, expected {expected}" if expected else text


def _when(at: datetime, *, dated: bool) -> str:
    return f"{at:%a} {at.day} {at:%b %H:%M}" if dated else f"{at:%a %H:%M}"


def _hours_span(hours: int) -> str:
    if hours >= 48:
        return f"{round(hours / 24)} days"
    return "1 hour" if hours == 1 else f"{hours} hours"


def _open_side(values: Mapping[datetime, float], band: BandPoint) -> float | None:
    """Where the band's open side is drawn: at the line's value, clamped to the closed side."""
    value = values.get(band.at)
    if value is None:
        return None
    if band.high is not None:
        return min(value, band.high)
    if band.low is not None:
        return max(value, band.low)
    return value


def _marker_height(
    at: datetime, series: Sequence[MetricPoint], control_limit: float | None
) -> float:
    """A flag sits on the metric line: at the bucket it opened in (the last one at or
    before it), else the first bucket; with no data, on the control limit."""
    if not series:
        return control_limit if control_limit is not None else 0.0
    before = [p for p in series if p.at <= at]
    return (before[-1] if before else series[0]).value


def _planned_at(planned: Sequence[SpendPoint], at: datetime) -> Decimal:
    """The plan's value at ``at``, interpolated between its points (one per bucket)."""
    if at <= planned[0].at:
        return planned[0].amount
    for left, right in pairwise(planned):
        if left.at <= at <= right.at:
            span = (right.at - left.at).total_seconds()
            if span <= 0:
                return right.amount
            fraction = Decimal((at - left.at).total_seconds() / span)
            return (left.amount + (right.amount - left.amount) * fraction).quantize(Decimal("0.01"))
    return planned[-1].amount


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
