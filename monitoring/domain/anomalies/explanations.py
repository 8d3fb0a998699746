"""The words of a transition: what was seen, the limit or band it crossed (fixed, the
robust baseline's or the novelty judge's), and for how long — the text a flag shows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from campaigns.domain.metrics import format_value

from ..novelty import LEVEL, SEASON, SMOOTHED, SWING
from .incidents import Incident
from .judging import Judge
from .series import State, Transition, finite


def explain(
    at: datetime,
    change: tuple[State, State],
    judges: Sequence[Judge],
    incident: Incident,
    bucket: timedelta,
) -> Transition:
    """The transition an incident's state change makes, worded from its judges' verdicts
    (the first judge's value, limit and band are the ones the flag shows)."""
    from_state, to_state = change
    bad = to_state is State.PENDING or to_state is State.FIRING
    clauses = [_clause(j, bad=bad) for j in judges if not bad or j.bad]
    text = " and ".join(clauses)
    # A novel point fires at once; "for 1 h" would only say the bucket's length.
    at_once = judges[0].how == "novel" and incident.first_bad_at == at
    if bad and incident.first_bad_at is not None and not at_once:
        text += " for " + _duration(at - incident.first_bad_at + bucket)
    lead = judges[0]
    return Transition(
        at,
        from_state,
        to_state,
        lead.value,
        lead.limit,
        text,
        expected_low=finite(lead.low),
        expected_high=finite(lead.high),
        since=incident.first_bad_at,
    )


def _clause(judge: Judge, *, bad: bool) -> str:
    c = judge.config
    value = f"{c.label} {format_value(c.unit, judge.value)}"
    limit = judge.limit
    if limit is None:
        return f"{value} is back to normal"
    above = judge.value > limit
    if judge.how == "novel":
        return _novel_clause(judge, value, bad=bad)
    if judge.how == "fixed" or judge.median is None:
        shown = format_value(c.unit, limit)
        if bad:
            return f"{value} is {'above' if above else 'below'} the control limit {shown}"
        return f"{value} is back within the control limit {shown}"
    median, span = judge.median, _span(judge.window_span(), c.bucket)
    usual = format_value(c.unit, median)
    if not bad:
        return f"{value} is back near its {span} median of {usual}"
    if c.unit in ("percent", "signed_percent") or median == 0:
        return f"{value} is {'above' if above else 'below'} its usual {usual}"
    change = abs(judge.value - median) / abs(median) * 100
    if math.isinf(change):
        return f"{value} is {'above' if above else 'below'} its {span} median of {usual}"
    return f"{value} is {change:.0f} % {'above' if above else 'below'} its {span} median of {usual}"


def _novel_clause(judge: Judge, value: str, *, bad: bool) -> str:
    """Why a novel point is bad, in the words of the view that found it new."""
    c, novel = judge.config, judge.novel
    assert novel is not None
    span = _length(len(novel.histories[LEVEL]) * c.bucket)
    low = format_value(c.unit, judge.low) if judge.low is not None else None
    high = format_value(c.unit, judge.high) if judge.high is not None else None
    usual = f"{low} to {high}" if low and high else (f"up to {high}" if high else f"from {low}")
    if not bad:
        return f"{value} is back within its usual range ({usual})"
    smooth = _duration(c.bucket * novel.settings.smooth_points)
    said = []
    for view in judge.views:
        if view == LEVEL:
            side = "above" if judge.high is not None and judge.value > judge.high else "below"
            said.append(f"{value} is {side} anything in its last {span} ({usual})")
        elif view == SMOOTHED:
            said.append(f"{c.label}'s {smooth} average is beyond its range over the last {span}")
        elif view == SEASON:
            said.append(f"{c.label} is unlike the same time on earlier days")
        elif view == SWING:
            said.append(f"{c.label} swings unlike anything in its last {span}")
    return "; ".join(said) or f"{value} is outside its usual range ({usual})"


def _length(span: timedelta) -> str:
    """'142 days', '20 hours', '1 day'."""
    hours = span.total_seconds() / 3600
    if hours >= 48:
        return f"{round(hours / 24)} days"
    return "1 hour" if round(hours) == 1 else f"{max(1, round(hours))} hours"


def _span(points: float, bucket: timedelta) -> str:
    hours = points * bucket.total_seconds() / 3600
    return f"{round(hours / 24)}-day" if hours >= 48 else f"{round(hours)}-hour"


def _duration(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 60 else f"{minutes / 60:.0f} h"
