"""Pure plotly figure builders: plain data in, a ``plotly.graph_objects.Figure`` out.

No database here. Selectors produce the series (``campaigns.domain.performance`` types);
the page embeds ``figure_data(fig)`` with ``json_script`` and ``static/js/charts.js``
hands it to the vendored plotly.js. Each builder has a ``*_summary`` twin: the same
numbers as one sentence, the chart's text alternative.

Accessibility: every figure has a title, axis titles and a legend, and series differ by
line dash and marker shape, never by colour alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

import plotly.graph_objects as go

from campaigns.domain.performance import AnomalyMarker, MetricPoint, SpendPoint

ACTUAL_COLOUR = "#1f5fbf"
PLAN_COLOUR = "#5b6675"
LIMIT_COLOUR = "#b45309"
ANOMALY_COLOUR = "#b42318"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
TIME_FORMAT = "%Y-%m-%d %H:%M"

NO_SPEND = "No spend yet"
NO_PERFORMANCE = "No performance data yet"


def budget_pacing_figure(
    points: Sequence[SpendPoint], *, planned: Sequence[SpendPoint], currency: str
) -> go.Figure:
    """Cumulative spend against the straight-line plan."""
    fig = go.Figure(
        layout=_layout(
            title="Cumulative spend against the straight-line plan",
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
) -> go.Figure:
    """The success metric per bucket, its control limit and where anomaly flags opened."""
    title = metric_label if control_limit is None else f"{metric_label} against the control limit"
    fig = go.Figure(layout=_layout(title=title, y_title=metric_label))
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
                name="Anomaly flag",
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
        f"{sentence}; the straight-line plan had spent {_money(by_then, currency)} by then "
        f"and reaches {_money(end.amount, currency)} on {end.at:%Y-%m-%d}."
    )


def performance_summary(
    series: Sequence[MetricPoint],
    *,
    metric_label: str,
    control_limit: float | None,
    anomalies: Sequence[AnomalyMarker],
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
    if anomalies:
        flags = "; ".join(f"{a.label} at {a.at:{TIME_FORMAT}}" for a in anomalies)
        parts.append(f"Anomaly flags: {flags}")
    return ". ".join(parts) + "."


def figure_data(fig: go.Figure) -> dict[str, Any]:
    """The figure as JSON-ready data, for Django's ``json_script`` (which escapes it for
    HTML). Plotly's own encoder turns datetimes and numbers into JSON first."""
    return json.loads(fig.to_json())


def _layout(*, title: str, y_title: str) -> go.Layout:
    # template "none": the default template would add ~6 kB to every figure and a look
    # that does not match the app; the few settings below are all we need.
    return go.Layout(
        template="none",
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        font={"family": FONT, "size": 12, "color": "#1b2430"},
        xaxis={"title": {"text": "Time"}, "type": "date", "gridcolor": "#e3e7ec"},
        yaxis={
            "title": {"text": y_title},
            "gridcolor": "#e3e7ec",
            "rangemode": "tozero",
            "zeroline": False,
        },
        legend={"orientation": "h", "x": 0, "y": -0.25, "xanchor": "left", "yanchor": "top"},
        hovermode="x unified",
        margin={"l": 64, "r": 16, "t": 48, "b": 24},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        height=340,
    )


def _say_empty(fig: go.Figure, message: str) -> None:
    fig.add_annotation(
        text=message, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False, font={"size": 14}
    )


def _plot_time(at: datetime) -> datetime:
    # TRICKY: plotly.js has no time zones and misreads an offset in a date string, so
    # times are drawn as the wall-clock time of the zone the caller converted them to.
    return at.replace(tzinfo=None)


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
    """The plan's value at ``at``, interpolated between its points (it is a straight line)."""
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
