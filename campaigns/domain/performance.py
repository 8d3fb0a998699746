"""A campaign's delivery over time, in pure Python: the series its charts draw.

Telemetry arrives as hourly buckets (``PerformanceSample``). From them we derive the
cumulative spend, the straight-line spend plan it is judged against (the rule in
``budget.py``) and the brief's success metric per bucket. Plain values in and out, so
selectors feed them from the database and ``controltower.charts`` draws them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .budget import planned_spend


@dataclass(frozen=True)
class Sample:
    """One bucket of delivery."""

    at: datetime
    impressions: int
    clicks: int
    conversions: int
    spend: Decimal


@dataclass(frozen=True)
class SpendPoint:
    """Cumulative spend by ``at``."""

    at: datetime
    amount: Decimal


@dataclass(frozen=True)
class MetricPoint:
    at: datetime
    value: float


@dataclass(frozen=True)
class BandPoint:
    """The range a detector expected at ``at`` (either side may be open)."""

    at: datetime
    low: float | None
    high: float | None


@dataclass(frozen=True)
class AnomalyMarker:
    """Where an anomaly flag opened, to mark it on the metric chart."""

    at: datetime
    label: str
    explanation: str


@dataclass(frozen=True)
class SpendSeries:
    actual: list[SpendPoint]
    planned: list[SpendPoint]  # empty until the campaign has launched


@dataclass(frozen=True)
class MetricSeries:
    metric: str  # the metric drawn: "cpa", "conversions" or "ctr"
    label: str
    points: list[MetricPoint]
    control_limit: float | None


#: Metrics we can compute from a bucket. A brief judged by something the buckets do not
#: carry yet (qualified leads, ROAS, revenue) is shown by its conversions.
CHARTED_METRICS = ("cpa", "conversions", "ctr")
FALLBACK_METRIC = "conversions"

# TRICKY: a success target is comparable with one bucket only for rate metrics. A
# conversions target is a campaign total, so drawing it on an hourly chart would mislead.
RATE_METRICS = frozenset({"cpa", "ctr"})


def charted_metric(success_metric: str) -> str:
    return success_metric if success_metric in CHARTED_METRICS else FALLBACK_METRIC


def metric_label(metric: str, *, currency: str) -> str:
    return {
        "cpa": f"CPA ({currency})",
        "ctr": "Click-through rate (%)",
        "conversions": "Conversions per hour",
    }[metric]


def metric_value(metric: str, sample: Sample) -> float | None:
    """The metric for one bucket, or None where it is undefined (nothing to divide by)."""
    if metric == "cpa":
        return float(sample.spend / sample.conversions) if sample.conversions else None
    if metric == "ctr":
        return sample.clicks * 100 / sample.impressions if sample.impressions else None
    return float(sample.conversions)


def metric_series(
    samples: Iterable[Sample],
    *,
    success_metric: str,
    success_target: Decimal | None,
    currency: str,
) -> MetricSeries:
    metric = charted_metric(success_metric)
    points = [
        MetricPoint(s.at, value) for s in samples if (value := metric_value(metric, s)) is not None
    ]
    limit = (
        float(success_target)
        if success_target is not None and metric == success_metric and metric in RATE_METRICS
        else None
    )
    return MetricSeries(
        metric=metric,
        label=metric_label(metric, currency=currency),
        points=points,
        control_limit=limit,
    )


def cumulative_spend(spends: Iterable[tuple[datetime, Decimal]]) -> list[SpendPoint]:
    """Running total of bucket spend, in the order given (oldest first)."""
    total = Decimal("0")
    points = []
    for at, spend in spends:
        total += spend
        points.append(SpendPoint(at, total))
    return points


def planned_spend_line(
    *, total: Decimal, start: datetime | None, end: datetime, at: Sequence[datetime] = ()
) -> list[SpendPoint]:
    """The plan from its start to the deadline, with a point at each time in
    ``at`` that falls inside it (so hovering a bucket shows plan and actual together)."""
    if start is None:
        return []
    inside = sorted(t for t in at if start < t < end)
    return [SpendPoint(t, planned_spend(total, start, end, t)) for t in [start, *inside, end]]
