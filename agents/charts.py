"""The agents' figures: each experiment's read-out (every variant's conversion rate with
its credible interval, its chance of being best, its share of the traffic round by round),
and the plotly basics every figure of the product shares. Pure: plain data in, a
``plotly.graph_objects.Figure`` out; no database.

``agents.selectors.experiments`` turns allocation rounds into :class:`ArmReadout` rows;
the page embeds ``figure_data(fig)`` with ``json_script`` and ``static/js/charts.js``
hands it to the vendored plotly.js. Each builder has a ``*_summary`` twin: the same
numbers as one sentence, the chart's text alternative.

The shared basics (:func:`base_layout`, :func:`figure_data`, :func:`say_empty`,
:func:`plot_time`, the font and colours) are here rather than in the tower's
``controltower.charts``, which draws the campaign's figures with them: the tower stands
above the agents and may import them; the agents may not import the tower.

Accessibility: every figure has a title, axis titles and a legend (or names every series
on its axis), and series differ by line dash, marker shape or fill pattern, never by
colour alone.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import plotly.graph_objects as go

ACTUAL_COLOUR = "#1f5fbf"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
TIME_FORMAT = "%Y-%m-%d %H:%M"


# --- Shared by every figure -------------------------------------------------------------


def figure_data(fig: go.Figure) -> dict[str, Any]:
    """The figure as JSON-ready data, for Django's ``json_script`` (which escapes it for
    HTML). Plotly's own encoder turns datetimes and numbers into JSON first."""
    return json.loads(fig.to_json())


def base_layout(*, title: str, y_title: str) -> go.Layout:
    """The layout every figure starts from: time along x, ``y_title`` up the side, the
    legend below, one hover label for every series at a time."""
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


def say_empty(fig: go.Figure, message: str) -> None:
    """Write ``message`` ("No spend yet") in the middle of a figure with nothing to draw."""
    fig.add_annotation(
        text=message, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False, font={"size": 14}
    )


def plot_time(at: datetime) -> datetime:
    """A time as plotly.js draws it: the wall-clock time, without its zone."""
    # TRICKY: plotly.js has no time zones and misreads an offset in a date string, so
    # times are drawn as the wall-clock time of the zone the caller converted them to.
    return at.replace(tzinfo=None)


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
        # Not say_empty's centre: the one arm's point sits there. The bottom of the plot
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
        layout=base_layout(
            title="Share of traffic per variant, by allocation round",
            y_title="Share of traffic (%)",
        )
    )
    fig.update_layout(yaxis={"range": [0, 100], "ticksuffix": " %"})
    labels = _labels_in_order(ordered)
    times = [plot_time(at) for at, _ in ordered]
    shares = [_round_shares(at, values, labels) for at, values in ordered]
    if ordered and until is not None and until > ordered[-1][0]:
        times.append(plot_time(until))
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
        say_empty(fig, NO_ALLOCATION)
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
    layout = base_layout(title=title, y_title="Variant")
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
