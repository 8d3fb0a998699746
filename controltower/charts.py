"""Pure plotly figure builders: plain data in, a ``plotly.graph_objects.Figure`` out.

No database here. Selectors produce the series (``campaigns.domain.performance`` types);
the page embeds ``figure_data(fig)`` with ``json_script`` and ``static/js/charts.js``
hands it to the vendored plotly.js. Each builder has a ``*_summary`` twin: the same
numbers as one sentence, the chart's text alternative.

Accessibility: every figure has a title, axis titles and a legend, and series differ by
line dash and marker shape, never by colour alone.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

import plotly.graph_objects as go

from campaigns.domain.metrics import format_band, format_value
from campaigns.domain.performance import AnomalyMarker, BandPoint, MetricPoint, SpendPoint
from monitoring.domain.anomalies import BacktestPoint

ACTUAL_COLOUR = "#1f5fbf"
PLAN_COLOUR = "#5b6675"
LIMIT_COLOUR = "#b45309"
ANOMALY_COLOUR = "#b42318"
BAND_FILL = "rgba(31, 95, 191, 0.12)"
BAND_EDGE = "rgba(31, 95, 191, 0.35)"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
TIME_FORMAT = "%Y-%m-%d %H:%M"

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


# --- Experiments: each variant's posterior, its traffic share, its chance of being best ---

WINNER_COLOUR = "#067647"
#: Light enough to read as "greyed out", still 3.8:1 on white (WCAG's bar for graphics).
STOPPED_COLOUR = "#7a8494"
#: One colour per arm in the traffic chart, each at least 5:1 on white; arms are told
#: apart by fill pattern too.
ARM_COLOURS = ("#1f5fbf", "#b45309", "#067647", "#7a2e8e", "#0e7490", "#c11574", "#5b6675")
ARM_PATTERNS = ("", "/", ".", "x", "\\", "+", "-", "|")

EN_DASH = "\u2013"  # between a range's ends; escaped, as ruff flags the character itself

NO_IMPRESSIONS = "No impressions yet"
NO_ALLOCATION = "No allocation rounds yet"


@dataclass(frozen=True)
class ArmReadout:
    """One variant (arm) of an experiment as the page reads it out.

    ``mean``, ``low`` and ``high`` are the posterior mean conversion rate and its 95 %
    credible interval, as fractions (0-1); ``prob_best`` is the chance the arm is best
    (0-1); ``stopped`` is a guardrail's reason when the arm is stopped, else ""."""

    label: str
    mean: float
    low: float
    high: float
    prob_best: float
    trials: int
    successes: int
    stopped: str = ""
    winner: bool = False


def experiment_intervals_figure(
    arms: Sequence[ArmReadout], *, metric_label: str = "Conversion rate"
) -> go.Figure:
    """Each arm's posterior mean with its 95 % credible interval, in %, best first.

    One trace per arm (so each error bar takes its arm's colour). The arm's state is in
    its label as well as its look: the winner is green with a star and "(winner)", a
    stopped arm grey with an open marker and "(stopped)". The axis names every arm, so
    there is no legend. Raises ValueError for no arms (see :func:`_readout_arms`)."""
    ordered = _readout_arms(arms)
    fig = go.Figure(
        layout=_readout_layout(
            title=f"{metric_label} by variant, with 95 % credible intervals",
            x_title=f"{metric_label} (%)",
            rows=len(ordered),
        )
    )
    for arm in ordered:
        colour, symbol = _arm_look(arm)
        mean = arm.mean * 100
        fig.add_trace(
            go.Scatter(
                name=_arm_label(arm),
                x=[mean],
                y=[_arm_label(arm)],
                mode="markers",
                marker={"color": colour, "symbol": symbol, "size": 14 if arm.winner else 10},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    # max(): the bisected interval may miss the mean by a rounding error.
                    "array": [max(arm.high * 100 - mean, 0.0)],
                    "arrayminus": [max(mean - arm.low * 100, 0.0)],
                    "color": colour,
                    "thickness": 2,
                    "width": 6,
                },
                hovertext=[_arm_hover(arm, metric_label=metric_label)],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    if all(arm.trials == 0 for arm in ordered):
        # Not _say_empty's centre: the one arm's point sits there. The bottom of the plot
        # is half a row of padding under the last arm.
        fig.add_annotation(
            text=NO_IMPRESSIONS,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0,
            yanchor="bottom",
            showarrow=False,
            font={"size": 14},
            bgcolor="rgba(255, 255, 255, 0.85)",
        )
    return fig


def probability_best_figure(arms: Sequence[ArmReadout]) -> go.Figure:
    """Each arm's chance of being best, in %, as horizontal bars in the same order as
    :func:`experiment_intervals_figure` (best mean first). Stopped arms are grey and
    hatched; the winner is green. Raises ValueError for no arms."""
    ordered = _readout_arms(arms)
    layout = _readout_layout(
        title="Chance of being the best variant",
        x_title="Probability of being best (%)",
        rows=len(ordered),
    )
    # Room on the right for the "100 %" label of a bar that reaches the end.
    # Room on the right for the value beside a full bar ("more than 99 %").
    layout.update(xaxis={"range": [0, 100]}, bargap=0.35, margin={"r": 110})
    fig = go.Figure(layout=layout)
    fig.add_trace(
        go.Bar(
            name="Probability of being best",
            orientation="h",
            x=[arm.prob_best * 100 for arm in ordered],
            y=[_arm_label(arm) for arm in ordered],
            marker={
                "color": [_arm_look(arm)[0] for arm in ordered],
                "pattern": {"shape": ["/" if arm.stopped else "" for arm in ordered]},
            },
            text=[_chance(arm.prob_best) for arm in ordered],
            # Outside and level: a thin bar would turn its label on its side, and a bar
            # of 0 would hide it.
            textposition="outside",
            textangle=0,
            cliponaxis=False,
            hovertext=[_arm_hover(arm) for arm in ordered],
            hovertemplate="%{hovertext}<extra></extra>",
        )
    )
    return fig


def allocation_share_figure(
    rounds: Sequence[tuple[datetime, Mapping[str, float]]], *, until: datetime | None = None
) -> go.Figure:
    """Each arm's share of the traffic (0-100 %) at every allocation round, stacked.

    ``rounds`` are (time, {arm label: impressions or share}); each round is scaled to
    100 %, so counts and fractions both work, and a round with no traffic at all (a
    paused experiment) draws as 0. One trace per label, in order of first appearance;
    an arm is 0 in the rounds before it appears and in any round it is missing from.
    Shares hold until the next round (step-shaped); pass ``until`` (e.g. now) to hold
    the latest round's shares until then, else it is a single instant at the right edge.
    Raises ValueError for a negative or non-finite value."""
    ordered = sorted(rounds, key=lambda item: item[0])
    fig = go.Figure(
        layout=_layout(
            title="Share of traffic per variant, by allocation round",
            y_title="Share of traffic (%)",
        )
    )
    fig.update_layout(yaxis={"range": [0, 100], "ticksuffix": " %"})
    labels = _labels_in_order(ordered)
    times = [_plot_time(at) for at, _ in ordered]
    shares = [_round_shares(at, values, labels) for at, values in ordered]
    if ordered and until is not None and until > ordered[-1][0]:
        times.append(_plot_time(until))
        shares.append(shares[-1])
    for i, label in enumerate(labels):
        name = _text(label)
        colour = ARM_COLOURS[i % len(ARM_COLOURS)]
        fig.add_trace(
            go.Scatter(
                name=name,
                x=times,
                y=[row[label] for row in shares],
                mode="lines",
                stackgroup="share",
                line={"color": colour, "width": 1.5, "shape": "hv"},
                fillpattern={
                    "shape": ARM_PATTERNS[i % len(ARM_PATTERNS)],
                    # TRICKY: the default fill mode replaces the fill with the pattern
                    # (white on nothing); overlay keeps the arm's colour under it.
                    "fillmode": "overlay",
                    "fgcolor": "#ffffff",
                    "fgopacity": 0.6,
                },
                fillcolor=colour,
                hovertemplate=f"%{{y:.1f}} %<extra>{name}</extra>",
            )
        )
    if not ordered:
        _say_empty(fig, NO_ALLOCATION)
    return fig


def allocation_summary(rounds: Sequence[tuple[datetime, Mapping[str, float]]]) -> str:
    """The traffic chart in words: the latest round's shares, largest first."""
    if not rounds:
        return f"{NO_ALLOCATION}."
    at, values = max(rounds, key=lambda item: item[0])
    shares = _round_shares(at, values, list(values))
    if not any(shares.values()):
        return f"No traffic in the latest allocation round, at {at:{TIME_FORMAT}}."
    parts = ", ".join(
        f"{label} {share:.0f} %"
        for label, share in sorted(shares.items(), key=lambda item: -item[1])
    )
    return (
        f"Share of traffic in the latest allocation round, at {at:{TIME_FORMAT}}: {parts} "
        f"({len(rounds)} round{'' if len(rounds) == 1 else 's'} so far)."
    )


def experiment_summary(
    arms: Sequence[ArmReadout], *, winner_label: str | None, min_sample: int
) -> str:
    """The experiment in one or two sentences: the winner, or the leader and why there
    is no winner yet; then the stopped arms and why. ``winner_label`` must be one of the
    arms' labels. Raises ValueError for no arms or an unknown ``winner_label``."""
    ordered = _readout_arms(arms)
    running = [arm for arm in ordered if not arm.stopped]
    if winner_label is not None:
        winner = next((arm for arm in ordered if arm.label == winner_label), None)
        if winner is None:
            raise ValueError(f"The winner {winner_label!r} is not one of the variants.")
        if winner.stopped:
            raise ValueError(f"{winner.label}: a stopped variant cannot be the winner.")
        first = (
            f"Winner: {winner.label}, converting at {_rate_with_interval(winner)} "
            f"with {_a_chance(winner.prob_best)} of being best."
        )
    elif not running:
        first = "Every variant is stopped by a guardrail, so no winner can be called."
    elif all(arm.trials == 0 for arm in running):
        first = (
            f"{NO_IMPRESSIONS}; every variant needs {min_sample:,} impressions "
            "before a winner can be called."
            if min_sample > 0
            else f"{NO_IMPRESSIONS}."
        )
    else:
        leader = running[0]
        lead = (
            f"{leader.label} is the only variant still running, at {_rate_with_interval(leader)}"
            if len(running) == 1
            else f"{leader.label} leads with {_rate_with_interval(leader)} "
            f"and {_a_chance(leader.prob_best)} of being best"
        )
        first = f"{lead}; no winner yet: {_why_no_winner(running, min_sample)}."
    stopped = [arm for arm in ordered if arm.stopped]
    if not stopped:
        return first
    reasons = "; ".join(f"{arm.label} ({arm.stopped.strip().rstrip('.')})" for arm in stopped)
    return f"{first} Stopped by a guardrail: {reasons}."


def _readout_arms(arms: Sequence[ArmReadout]) -> list[ArmReadout]:
    """The arms checked and ordered best first by mean (ties keep the caller's order)."""
    if not arms:
        raise ValueError("An experiment read-out needs at least one variant.")
    labels = [arm.label for arm in arms]
    if len(set(labels)) != len(labels):
        # The chart's category axis would merge two arms with the same label into one row.
        raise ValueError(f"Variant labels must be unique, not {labels}.")
    for arm in arms:
        rates = (arm.mean, arm.low, arm.high, arm.prob_best)
        if not all(math.isfinite(x) and 0 <= x <= 1 for x in rates):
            raise ValueError(f"{arm.label}: rates and P(best) must be fractions from 0 to 1.")
        if arm.low > arm.high or not arm.low - 1e-9 <= arm.mean <= arm.high + 1e-9:
            raise ValueError(f"{arm.label}: the mean must lie within low ≤ high.")
        if not 0 <= arm.successes <= arm.trials:
            raise ValueError(f"{arm.label}: need 0 ≤ successes ≤ trials.")
        if arm.winner and arm.stopped:
            raise ValueError(f"{arm.label}: a stopped variant cannot be the winner.")
    if sum(arm.winner for arm in arms) > 1:
        raise ValueError("At most one variant can be the winner.")
    return sorted(arms, key=lambda arm: -arm.mean)


def _readout_layout(*, title: str, x_title: str, rows: int) -> go.Layout:
    """The shared layout turned on its side: rates along x, one row per arm, best on top."""
    layout = _layout(title=title, y_title="Variant")
    layout.xaxis = {
        "title": {"text": x_title},
        "ticksuffix": " %",
        "gridcolor": "#e3e7ec",
        "rangemode": "tozero",
        "zeroline": False,
        "automargin": True,
    }
    layout.yaxis = {
        # standoff: with automargin, plotly.js then sets the title clear of long labels.
        "title": {"text": "Variant", "standoff": 12},
        "type": "category",
        "autorange": "reversed",
        "automargin": True,
    }
    layout.update(hovermode="closest", showlegend=False, height=max(220, 110 + 44 * rows))
    return layout


def _arm_label(arm: ArmReadout) -> str:
    state = " (winner)" if arm.winner else " (stopped)" if arm.stopped else ""
    return f"{_text(arm.label)}{state}"


def _arm_look(arm: ArmReadout) -> tuple[str, str]:
    if arm.winner:
        return WINNER_COLOUR, "star"
    if arm.stopped:
        return STOPPED_COLOUR, "circle-open"
    return ACTUAL_COLOUR, "circle"


def _arm_hover(arm: ArmReadout, *, metric_label: str = "Conversion rate") -> str:
    rate, interval = _rate_parts(arm)
    lines = [
        _arm_label(arm),
        f"{_text(metric_label)} {rate}"
        + (f" (95 % credible interval {interval})" if interval else ""),
        f"{arm.successes:,} conversions from {arm.trials:,} impressions",
        f"P(best) {_chance(arm.prob_best)}",
    ]
    if arm.stopped:
        lines.append(f"Stopped: {_text(arm.stopped)}")
    return "<br>".join(lines)


def _text(value: str) -> str:
    # TRICKY: plotly.js reads <b>, <a href> and the like in labels and hover text as
    # markup, and variant labels are ad copy; escaped, they show as typed (plotly.js
    # turns the entities back into characters).
    return html.escape(value, quote=False)


def _rate_with_interval(arm: ArmReadout) -> str:
    """ "2.6 % (2.3-2.9 %)" (with an en dash), or just the rate when the interval is a point."""
    rate, interval = _rate_parts(arm)
    return f"{rate} ({interval})" if interval else rate


def _rate_parts(arm: ArmReadout) -> tuple[str, str]:
    """The rate and its interval in %, "2.6 %" and "2.3-2.9 %" (with an en dash): one
    decimal (two under 1 %), more while the interval's ends would print the same; no
    interval ("") when it is a single point."""
    decimals = 1 if arm.mean >= 0.01 else 2
    while (
        arm.low != arm.high
        and decimals < 4
        and _percent_number(arm.low, decimals) == _percent_number(arm.high, decimals)
    ):
        decimals += 1
    rate = f"{_percent_number(arm.mean, decimals)} %"
    if arm.low == arm.high:
        return rate, ""
    low, high = _percent_number(arm.low, decimals), _percent_number(arm.high, decimals)
    return rate, f"{low}{EN_DASH}{high} %"


def _percent_number(fraction: float, decimals: int) -> str:
    return f"{fraction * 100:,.{decimals}f}"


def _chance(probability: float) -> str:
    """A probability as a whole percentage that never rounds to certainty either way."""
    percent = round(probability * 100)
    if percent == 0 and probability > 0:
        return "less than 1 %"
    if percent == 100 and probability < 1:
        return "more than 99 %"
    return f"{percent} %"


def _a_chance(probability: float) -> str:
    text = _chance(probability)
    # "an 8 %", "an 11 %", "an 80 %": the article follows how the number is said.
    article = "an" if text.startswith("8") or text in ("11 %", "18 %") else "a"
    return f"{article} {text} chance"


def _why_no_winner(running: Sequence[ArmReadout], min_sample: int) -> str:
    short = [arm for arm in running if arm.trials < min_sample]
    if not short and min_sample <= 0:
        return "none is clearly best"
    if not short:
        return f"every variant has its {min_sample:,} impressions, but none is clearly best"
    needs = f"every variant needs {min_sample:,} impressions"
    if len(short) == len(running):
        return needs
    verb = "has" if len(short) == 1 else "have"
    return f"{needs} and {len(short)} of {len(running)} still {verb} fewer"


def _labels_in_order(rounds: Sequence[tuple[datetime, Mapping[str, float]]]) -> list[str]:
    labels: dict[str, None] = {}
    for _, values in rounds:
        labels.update(dict.fromkeys(values))
    return list(labels)


def _round_shares(
    at: datetime, values: Mapping[str, float], labels: Sequence[str]
) -> dict[str, float]:
    for label, value in values.items():
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"Round at {at:{TIME_FORMAT}}: {label} has {value}, not ≥ 0.")
    total = sum(values.values())
    return {label: values.get(label, 0.0) * 100 / total if total else 0.0 for label in labels}
