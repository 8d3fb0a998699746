"""The sandbox market's telemetry: realistic, noisy, seeded series with faults that can
be injected — the default source of campaign telemetry (issue 6) and the labelled data
the detection bench scores the detectors on. Pure Python; ``sandbox.py`` is the publish
side of the same market.

How one channel/variant line behaves, hour by hour:

* **Spend** follows the plan the platform paces to: the daily budget spread over the
  audience's day (a cosine diurnal cycle peaking in the evening), times lognormal noise.
  The straight-line ``planned_spend`` (budget / 24 per hour, as ``budget.py`` plans) is
  reported alongside, so spend against plan swings through the day and evens out over
  24 hours — just like a real account.
* **Price** (CPM) has a milder diurnal cycle, is cheaper at weekends and drifts slowly
  (an AR(1) walk on the log scale, the market's mood); impressions are what the spend
  buys at that price (Poisson).
* **Response**: clicks ~ Binomial(impressions, CTR), conversions ~ Binomial(clicks,
  CVR), leads = conversions, qualified leads ~ Binomial(leads, lead quality). CTR drifts
  like CPM; CVR dips at weekends. Quiet night hours therefore carry few conversions —
  the low-volume noise the detectors must survive.
* **Reach/frequency**: people reached = impressions / frequency (≈1.15 per hour).
* **Link checks**: a fixed number per hour, each failing with a small transient rate.

Faults (``Fault``) change the line while active, by ``severity``:

=================  =====================================================================
cpm_spike          CPM * (1 + severity): the same spend buys fewer impressions (CPA up)
conversion_drop    CVR * (1 - severity) (tracking lost, offer expired, checkout broken)
broken_link        that share of link checks fail and of clicks cannot convert
audience_fatigue   frequency ramps up to * (1 + severity) over the first 48 h while CTR
                   falls to / (1 + severity): the same people, clicking less
overspend          spend * (1 + severity) at the same CPM (a budget cap lost)
=================  =====================================================================

TRICKY: every random variate takes exactly one ``rng.random()`` (inversion), whatever
its parameters. So a series with a fault and the same seed without it share all their
noise and differ only where the fault acts — which is what the tests compare.

Spend is a float in currency units, rounded to cents (the detectors work in floats; the
database's ``PerformanceSample.spend`` is Decimal — convert at the boundary).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any

CPM_SPIKE = "cpm_spike"
CONVERSION_DROP = "conversion_drop"
BROKEN_LINK = "broken_link"
AUDIENCE_FATIGUE = "audience_fatigue"
OVERSPEND = "overspend"
FAULT_KINDS = (CPM_SPIKE, CONVERSION_DROP, BROKEN_LINK, AUDIENCE_FATIGUE, OVERSPEND)

DEFAULT_SEVERITY: dict[str, float] = {
    CPM_SPIKE: 0.6,
    CONVERSION_DROP: 0.6,
    BROKEN_LINK: 1.0,
    AUDIENCE_FATIGUE: 1.0,
    OVERSPEND: 1.0,
}

#: The anomaly kind (``monitoring.models.AnomalyKind``) each fault should raise.
FLAG_FOR_FAULT: dict[str, str] = {
    CPM_SPIKE: "cpm_spike",
    CONVERSION_DROP: "conversion_drop",
    BROKEN_LINK: "broken_link",
    AUDIENCE_FATIGUE: "audience_fatigue",
    OVERSPEND: "pacing_drift",
}

#: Audience fatigue builds up over this long (or the fault's duration, if shorter).
FATIGUE_RAMP = timedelta(hours=48)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Fault:
    """Something going wrong on the market from ``starts_at`` for ``duration_hours``, on
    one channel/variant or (None) all of them."""

    kind: str
    starts_at: datetime
    duration_hours: float
    channel: str | None = None
    variant: str | None = None
    severity: float | None = None  # None: DEFAULT_SEVERITY[kind]

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault “{self.kind}”; faults: {', '.join(FAULT_KINDS)}.")
        if self.duration_hours <= 0:
            raise ValueError("A fault lasts a positive number of hours.")
        if self.severity is None:
            object.__setattr__(self, "severity", DEFAULT_SEVERITY[self.kind])

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(hours=self.duration_hours)

    def applies(self, at: datetime, channel: str, variant: str) -> bool:
        return (
            self.starts_at <= at < self.ends_at
            and (self.channel is None or self.channel == channel)
            and (self.variant is None or self.variant == variant)
        )


@dataclass(frozen=True)
class LineSpec:
    """One channel/variant's economics at the daily average (rates are fractions)."""

    channel: str
    variant: str = "A"
    daily_budget: float = 2400.0
    cpm: float = 9.10
    ctr: float = 0.010
    cvr: float = 0.045  # CPA ≈ cpm / 1000 / (ctr · cvr) ≈ 20
    frequency: float = 1.15
    lead_quality: float = 0.4
    link_checks_per_hour: int = 12
    link_error_rate: float = 0.002
    complaint_rate: float = 0.0004  # complaints and unsubscribes per person reached


@dataclass(frozen=True)
class MarketSpec:
    lines: tuple[LineSpec, ...]
    diurnal_amplitude: float = 0.65  # traffic: 0.35x at the trough, 1.65x at the peak
    peak_hour: float = 20.5
    cpm_diurnal: float = 0.08  # prices a little higher when everyone is online
    ctr_diurnal: float = 0.06
    weekend_cpm: float = 0.9
    weekend_cvr: float = 0.85
    spend_noise: float = 0.06  # lognormal sd per hour
    price_noise: float = 0.04
    frequency_noise: float = 0.02
    drift_keep: float = 0.95  # AR(1) coefficient of the slow market drift
    drift_step: float = 0.015  # its innovation sd (stationary sd ≈ 0.048)

    @classmethod
    def default(cls) -> MarketSpec:
        """Paid social with two variants and a search line: a small, realistic account."""
        return cls(
            lines=(
                LineSpec("social_ads", "A"),
                LineSpec("social_ads", "B", daily_budget=1200.0, ctr=0.012, cvr=0.04),
                LineSpec("search_ads", "A", daily_budget=1800.0, cpm=30.0, ctr=0.04, cvr=0.05),
            )
        )


@dataclass(frozen=True, slots=True)
class HourlyBucket:
    """One bucket of one line's delivery; ``fault`` is the ground truth for benches
    (the kind of the fault acting on the line, or None). Its attributes are the ones
    ``campaigns.domain.metrics`` reads, so metrics and detectors take it as is."""

    at: datetime
    channel: str
    variant: str
    impressions: int
    clicks: int
    conversions: int
    spend: float
    reach: int
    link_checks: int
    link_failures: int
    leads: int
    qualified_leads: int
    planned_spend: float
    fault: str | None = None
    complaints: int = 0  # complaints and unsubscribes

    @property
    def frequency(self) -> float | None:
        return self.impressions / self.reach if self.reach else None


@dataclass(frozen=True)
class MarketState:
    """What carries from one bucket to the next: each line's slow drift (log CPM, log
    CTR), in the order of ``MarketSpec.lines``. Plain data; ``snapshot``/``restore`` for
    a beat task that emits telemetry tick by tick."""

    drift: tuple[tuple[float, float], ...] = field(default=())

    @classmethod
    def initial(cls, spec: MarketSpec) -> MarketState:
        return cls(tuple((0.0, 0.0) for _ in spec.lines))

    def snapshot(self) -> dict[str, Any]:
        return {"drift": [list(d) for d in self.drift]}

    @classmethod
    def restore(cls, data: dict[str, Any]) -> MarketState:
        return cls(tuple((float(a), float(b)) for a, b in data["drift"]))


def next_buckets(
    spec: MarketSpec,
    state: MarketState,
    at: datetime,
    rng: random.Random,
    faults: Sequence[Fault] = (),
    *,
    span: timedelta = HOUR,
) -> tuple[list[HourlyBucket], MarketState]:
    """Every line's bucket starting at ``at`` and lasting ``span`` (an hour, or a minute
    for a faster tick), and the state to pass to the next call. Calling this hour after
    hour with the same ``rng`` gives exactly ``simulate_series``."""
    if len(state.drift) != len(spec.lines):
        state = MarketState.initial(spec)
    hours = span.total_seconds() / 3600
    mid = at + span / 2
    hour_of_day = mid.hour + mid.minute / 60 + mid.second / 3600
    phase = math.cos(2 * math.pi * (hour_of_day - spec.peak_hour) / 24)
    weekend = at.weekday() >= 5
    buckets = []
    drift = []
    for line, (cpm_z, ctr_z) in zip(spec.lines, state.drift, strict=True):
        bucket, new_drift = _line_bucket(
            spec, line, at, hours, phase, weekend, (cpm_z, ctr_z), rng, faults
        )
        buckets.append(bucket)
        drift.append(new_drift)
    return buckets, MarketState(tuple(drift))


def simulate_series(
    spec: MarketSpec,
    *,
    start: datetime,
    hours: int,
    rng: random.Random,
    faults: Sequence[Fault] = (),
) -> list[HourlyBucket]:
    """``hours`` hourly buckets for every line from ``start``, oldest first (within an
    hour, in the order of ``spec.lines``)."""
    state = MarketState.initial(spec)
    series: list[HourlyBucket] = []
    for hour in range(hours):
        buckets, state = next_buckets(spec, state, start + hour * HOUR, rng, faults)
        series.extend(buckets)
    return series


def by_line(buckets: Sequence[HourlyBucket]) -> dict[tuple[str, str], list[HourlyBucket]]:
    """The buckets of each (channel, variant), oldest first."""
    lines: dict[tuple[str, str], list[HourlyBucket]] = {}
    for bucket in buckets:
        lines.setdefault((bucket.channel, bucket.variant), []).append(bucket)
    return lines


# --------------------------------------------------------------------------- one line


def _line_bucket(
    spec: MarketSpec,
    line: LineSpec,
    at: datetime,
    hours: float,
    phase: float,
    weekend: bool,
    drift: tuple[float, float],
    rng: random.Random,
    faults: Sequence[Fault],
) -> tuple[HourlyBucket, tuple[float, float]]:
    rand = rng.random
    label = None
    cpm_factor = cvr_factor = spend_factor = ctr_factor = freq_factor = 1.0
    broken = 0.0
    for fault in faults:
        if not fault.applies(at, line.channel, line.variant):
            continue
        label = label or fault.kind
        severity = fault.severity or 0.0
        if fault.kind == CPM_SPIKE:
            cpm_factor *= 1 + severity
        elif fault.kind == CONVERSION_DROP:
            cvr_factor *= max(0.0, 1 - severity)
        elif fault.kind == BROKEN_LINK:
            broken = max(broken, min(1.0, severity))
        elif fault.kind == AUDIENCE_FATIGUE:
            ramp = min(FATIGUE_RAMP, fault.ends_at - fault.starts_at)
            progress = min(1.0, (at - fault.starts_at + HOUR) / ramp)
            freq_factor *= 1 + severity * progress
            ctr_factor /= 1 + severity * progress
        elif fault.kind == OVERSPEND:
            spend_factor *= 1 + severity

    cpm_z = spec.drift_keep * drift[0] + spec.drift_step * _z(rand())
    ctr_z = spec.drift_keep * drift[1] + spec.drift_step * _z(rand())

    traffic = 1 + spec.diurnal_amplitude * phase
    planned = line.daily_budget * hours / 24
    spend = planned * traffic * math.exp(spec.spend_noise * _z(rand())) * spend_factor
    spend = round(spend, 2)
    cpm = (
        line.cpm
        * (1 + spec.cpm_diurnal * phase)
        * (spec.weekend_cpm if weekend else 1.0)
        * math.exp(cpm_z + spec.price_noise * _z(rand()))
        * cpm_factor
    )
    impressions = _poisson(rand(), spend / cpm * 1000)
    ctr = line.ctr * (1 + spec.ctr_diurnal * phase) * math.exp(ctr_z) * ctr_factor
    clicks = _binomial(rand(), impressions, min(1.0, ctr))
    cvr = line.cvr * (spec.weekend_cvr if weekend else 1.0) * cvr_factor * (1 - broken)
    conversions = _binomial(rand(), clicks, min(1.0, cvr))
    qualified = _binomial(rand(), conversions, line.lead_quality)
    frequency = line.frequency * freq_factor * math.exp(spec.frequency_noise * _z(rand()))
    reach = max(1, round(impressions / frequency)) if impressions else 0
    checks = max(1, round(line.link_checks_per_hour * hours))
    failures = _binomial(rand(), checks, broken or line.link_error_rate)
    # People tired of the same ad complain and unsubscribe more. The expected count, not
    # a draw: another draw would shift every later one and change the series the
    # detectors were tuned and tested on.
    complaints = round(reach * min(1.0, line.complaint_rate * freq_factor**2))
    bucket = HourlyBucket(
        at=at,
        channel=line.channel,
        variant=line.variant,
        impressions=impressions,
        clicks=clicks,
        conversions=conversions,
        spend=spend,
        reach=reach,
        link_checks=checks,
        link_failures=failures,
        complaints=complaints,
        leads=conversions,
        qualified_leads=qualified,
        planned_spend=round(planned, 2),
        fault=label,
    )
    return bucket, (cpm_z, ctr_z)


# ------------------------------------------------------ variates from one uniform each

_inv_cdf = NormalDist().inv_cdf
_SMALL = 30.0  # below this mean, exact inversion; above, the normal approximation


def _z(u: float) -> float:
    return _inv_cdf(min(max(u, 1e-12), 1 - 1e-12))


def _poisson(u: float, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam >= _SMALL:
        return max(0, round(lam + math.sqrt(lam) * _z(u)))
    p = math.exp(-lam)
    cumulative, k = p, 0
    while u > cumulative and k < 200:
        k += 1
        p *= lam / k
        cumulative += p
    return k


def _binomial(u: float, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    mean, q = n * p, 1 - p
    if n * min(p, q) >= _SMALL:
        return min(n, max(0, round(mean + math.sqrt(mean * q) * _z(u))))
    if p > 0.5:  # few failures: count those instead
        return n - _binomial(1 - u, n, q)
    if n > 100:  # rare events among many trials: Poisson
        return min(n, _poisson(u, mean))
    pk = q**n
    cumulative, k = pk, 0
    ratio = p / q
    while u > cumulative and k < n:
        pk *= (n - k) / (k + 1) * ratio
        k += 1
        cumulative += pk
    return k
