"""The metrics the performance agent watches, in pure Python: what each one means, which
way is bad, how it is shown, and how it is read from one bucket of telemetry.

Every metric is a ratio of two counts a bucket carries (CPA = spend / conversions, CTR =
clicks / impressions, ...), scaled for display. A reading keeps the denominator as its
*weight* — the volume behind the value — because a CPA from one conversion is noise and
a CTR from 40 impressions says little. Keeping the weight also makes pooling exact:
the weight-weighted mean of several readings is the ratio of their summed counts (three
quiet hours pool into one CPA of Σspend / Σconversions), which is how the detectors in
``monitoring.domain.anomalies`` treat buckets too small to judge on their own.

Rates are in percent, like ``performance.metric_value`` (CTR 1.1 means 1.1 %).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Direction(StrEnum):
    """Which way a metric goes wrong. A CPA rise is bad; a CTR rise is not."""

    UP_IS_BAD = "up_is_bad"
    DOWN_IS_BAD = "down_is_bad"
    # Pacing: spending too fast and too slow both break the plan.
    EITHER_IS_BAD = "either_is_bad"


class Metric(StrEnum):
    CPA = "cpa"
    CPC = "cpc"
    CPM = "cpm"
    CTR = "ctr"
    CVR = "cvr"
    FREQUENCY = "frequency"
    SPEND_PACE = "spend_pace"
    LEAD_QUALITY = "lead_quality"
    LINK_HEALTH = "link_health"


class BucketLike(Protocol):
    """What a metric reads from a bucket; ``Bucket`` below and the sandbox market's
    ``HourlyBucket`` both have these attributes, so neither is converted on the hot path."""

    impressions: int
    clicks: int
    conversions: int
    spend: float
    reach: int | None
    link_checks: int
    link_failures: int
    leads: int
    qualified_leads: int
    planned_spend: float | None


@dataclass(frozen=True)
class Bucket:
    """One time bucket of a campaign's delivery on one channel/variant, as counts.

    Spend is a float here (currency units): the detectors do float arithmetic anyway and
    Decimal would cost ~10x per point. ``PerformanceSample.spend`` stays Decimal in the
    database; convert at the boundary. ``planned_spend`` is what the budget plan allots
    to this bucket (``budget.planned_spend`` at its end minus at its start); ``reach`` is
    unique people reached in the bucket. Both are None when unknown.
    """

    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend: float = 0.0
    reach: int | None = None
    link_checks: int = 0
    link_failures: int = 0
    leads: int = 0
    qualified_leads: int = 0
    planned_spend: float | None = None


@dataclass(frozen=True)
class Reading:
    """One metric in one bucket.

    ``weight`` is the volume behind the value (the ratio's denominator: conversions for
    CPA, impressions for CTR). ``numerator`` is ``value * weight`` — kept separately so
    that a bucket with spend but no conversion (weight 0, CPA infinite) still adds its
    spend when buckets are pooled.
    """

    value: float
    weight: float
    numerator: float


@dataclass(frozen=True)
class MetricSpec:
    metric: Metric
    label: str
    direction: Direction
    unit: str  # "currency", "percent", "signed_percent" or "number"
    #: Below this weight a single bucket's value is too noisy to show or judge alone
    #: (the default ``min_weight`` adaptive detectors pool up to; some kinds need more).
    min_volume: float
    volume_label: str  # what the weight counts, for people: "conversions"
    description: str
    numerator: Callable[[BucketLike], float]
    denominator: Callable[[BucketLike], float | None]
    scale: float = 1.0
    offset: float = 0.0  # value = scale * numerator / denominator + offset

    def format(self, value: float) -> str:
        return format_value(self.unit, value)


def format_value(unit: str, value: float) -> str:
    """How a value reads in an explanation: "41.20", "0.4 %", "+42 %", "2.30"."""
    if math.isinf(value):
        return "∞"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "signed_percent":
        return f"{value:+.0f} %"
    return f"{value:.2f}"


def format_band(unit: str, low: float | None, high: float | None) -> str:
    """The range a detector expected, in words: "0.31-0.48" and "1.2-2.0 %" (with an en
    dash), "up to 0.48", "at least 1.2 %", "-10 % to +10 %"; "" when both sides are open."""
    if low is None:
        return f"up to {format_value(unit, high)}" if high is not None else ""
    if high is None:
        return f"at least {format_value(unit, low)}"
    lower, upper = format_value(unit, low), format_value(unit, high)
    if unit == "signed_percent":  # "-10 %" en dash "+10 %" would read as arithmetic
        return f"{lower} to {upper}"
    return f"{lower.removesuffix(' %')}\u2013{upper}"


def _spend(b: BucketLike) -> float:
    # float(): a PerformanceSample passed as is carries Decimal spend.
    return float(b.spend)


def _reach(b: BucketLike) -> float | None:
    return b.reach or None


def _planned(b: BucketLike) -> float | None:
    # TRICKY: getattr, because database rows (PerformanceSample) have no plan column;
    # without one there is no pace to read, rather than an AttributeError mid-batch.
    planned = getattr(b, "planned_spend", None)
    return float(planned) if planned else None


METRICS: dict[str, MetricSpec] = {
    spec.metric: spec
    for spec in (
        MetricSpec(
            Metric.CPA,
            "CPA",
            Direction.UP_IS_BAD,
            "currency",
            min_volume=10,
            volume_label="conversions",
            description="Cost per acquisition: spend / conversions.",
            numerator=_spend,
            denominator=lambda b: b.conversions,
        ),
        MetricSpec(
            Metric.CPC,
            "CPC",
            Direction.UP_IS_BAD,
            "currency",
            # A CPC from 50 clicks is within ±15 % or so by chance alone (Poisson clicks).
            min_volume=50,
            volume_label="clicks",
            description="Cost per click: spend / clicks.",
            numerator=_spend,
            denominator=lambda b: b.clicks,
        ),
        MetricSpec(
            Metric.CPM,
            "CPM",
            Direction.UP_IS_BAD,
            "currency",
            min_volume=1000,
            volume_label="impressions",
            description="Cost per thousand impressions.",
            numerator=_spend,
            denominator=lambda b: b.impressions,
            scale=1000.0,
        ),
        MetricSpec(
            Metric.CTR,
            "CTR",
            Direction.DOWN_IS_BAD,
            "percent",
            min_volume=2000,
            volume_label="impressions",
            description="Click-through rate: clicks / impressions, in %.",
            numerator=lambda b: b.clicks,
            denominator=lambda b: b.impressions,
            scale=100.0,
        ),
        MetricSpec(
            Metric.CVR,
            "CVR",
            Direction.DOWN_IS_BAD,
            "percent",
            min_volume=500,
            volume_label="clicks",
            description="Conversion rate: conversions / clicks, in %.",
            numerator=lambda b: b.conversions,
            denominator=lambda b: b.clicks,
            scale=100.0,
        ),
        MetricSpec(
            Metric.FREQUENCY,
            "Frequency",
            Direction.UP_IS_BAD,
            "number",
            min_volume=200,
            volume_label="people reached",
            description="Impressions per person reached in the bucket.",
            numerator=lambda b: b.impressions,
            denominator=_reach,
        ),
        MetricSpec(
            Metric.SPEND_PACE,
            "Spend pace",
            Direction.EITHER_IS_BAD,
            "signed_percent",
            # Any planned spend is enough: pacing is judged on a trailing day, not a bucket.
            min_volume=0,
            volume_label="planned spend",
            description="Spend against the plan, in % (+18 means 18 % ahead of plan).",
            numerator=_spend,
            denominator=_planned,
            scale=100.0,
            offset=-100.0,
        ),
        MetricSpec(
            Metric.LEAD_QUALITY,
            "Lead quality",
            Direction.DOWN_IS_BAD,
            "percent",
            min_volume=10,
            volume_label="leads",
            description="Share of leads that qualify, in %.",
            numerator=lambda b: b.qualified_leads,
            denominator=lambda b: b.leads,
            scale=100.0,
        ),
        MetricSpec(
            Metric.LINK_HEALTH,
            "Link failures",
            Direction.UP_IS_BAD,
            "percent",
            # A couple of checks suffice: a broken link fails every one of them.
            min_volume=2,
            volume_label="link checks",
            description="Share of link checks failing, in % (0 is healthy).",
            numerator=lambda b: b.link_failures,
            denominator=lambda b: b.link_checks,
            scale=100.0,
        ),
    )
}


def spec_for(metric: str) -> MetricSpec:
    """The spec for a metric name; ValueError naming the known ones otherwise."""
    try:
        return METRICS[Metric(metric)]
    except ValueError:
        known = ", ".join(m.value for m in Metric)
        raise ValueError(f"Unknown metric “{metric}”; known metrics: {known}.") from None


def reading(metric: str, bucket: BucketLike) -> Reading | None:
    """The metric in one bucket with the volume behind it, or None when the bucket says
    nothing about it (nothing happened, or the bucket does not carry the counts).

    TRICKY: spend without a conversion is a reading (CPA ∞, weight 0), not None: dropping
    it would make pooled CPA look better exactly when conversions dry up.
    """
    found = raw_reading(METRICS.get(metric) or spec_for(metric), bucket)
    return Reading(*found) if found is not None else None


def raw_reading(spec: MetricSpec, bucket: BucketLike) -> tuple[float, float, float] | None:
    """``reading`` as a plain (value, weight, numerator) tuple, for the ingestion hot path."""
    denominator = spec.denominator(bucket)
    if denominator is None:
        return None
    raw = spec.numerator(bucket)
    if denominator <= 0:
        if raw <= 0 or spec.offset:
            return None
        return math.inf, 0.0, spec.scale * raw
    value = spec.scale * raw / denominator + spec.offset
    return value, float(denominator), value * denominator


def metric_value(metric: str, bucket: BucketLike) -> float | None:
    """The metric for one bucket, or None when its volume is too low to say anything
    (fewer than the metric's ``min_volume``: a CPA from one conversion is noise)."""
    found = reading(metric, bucket)
    if found is None or found.weight < spec_for(metric).min_volume or math.isinf(found.value):
        return None
    return found.value
