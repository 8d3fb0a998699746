"""The anomaly kinds as data: each kind's default detector (``detectors_for``), the
default response per kind and a brand's overrides (``responses_for``), and the kind a
metric's backtest uses. Kind and response names are ``monitoring.models.AnomalyKind`` /
``FlagResponse`` values (a test holds them equal; this module does not import Django)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from campaigns.domain.metrics import METRICS, Direction, Metric

from .series import AnyConfig, CompositeConfig, DetectorConfig

#: ``monitoring.models.AnomalyKind`` values.
CPM_SPIKE = "cpm_spike"
CPC_SPIKE = "cpc_spike"
CPA_ABOVE_LIMIT = "cpa_above_limit"
CONVERSION_DROP = "conversion_drop"
BROKEN_LINK = "broken_link"
PACING_DRIFT = "pacing_drift"
AUDIENCE_FATIGUE = "audience_fatigue"
KINDS = (
    CPM_SPIKE,
    CPC_SPIKE,
    CPA_ABOVE_LIMIT,
    CONVERSION_DROP,
    BROKEN_LINK,
    PACING_DRIFT,
    AUDIENCE_FATIGUE,
)

#: What the performance agent does about each kind unless the brand says otherwise
#: (``monitoring.models.FlagResponse`` values). Money leaking to a broken page is paused
#: at once; a CPA over the brief's limit or conversions vanishing need a person (is the
#: site or the tracking down?); the rest the agents can optimise themselves.
DEFAULT_RESPONSES: Mapping[str, str] = {
    CPM_SPIKE: "optimize",
    CPC_SPIKE: "optimize",
    CPA_ABOVE_LIMIT: "escalate",
    CONVERSION_DROP: "escalate",
    BROKEN_LINK: "pause",
    PACING_DRIFT: "optimize",
    AUDIENCE_FATIGUE: "optimize",
}
RESPONSES = ("continue", "optimize", "pause", "escalate")

#: The kind a metric's backtest uses by default (the live detector for that metric).
KIND_FOR_METRIC: Mapping[str, str] = {
    Metric.CPM: CPM_SPIKE,
    Metric.CPC: CPC_SPIKE,
    Metric.CPA: CPA_ABOVE_LIMIT,
    Metric.CVR: CONVERSION_DROP,
    Metric.LINK_HEALTH: BROKEN_LINK,
    Metric.SPEND_PACE: PACING_DRIFT,
}

WEEK = 7 * 24  # hourly points in the baseline window


def adaptive(metric: str, **overrides: Any) -> DetectorConfig:
    """The standard adaptive detector for a metric: its direction, a 7-day hourly
    baseline, 3 robust sigmas and at least 25 %, pooled to the metric's minimum volume."""
    spec = METRICS[Metric(metric)]
    settings: dict[str, Any] = dict(
        metric=spec.metric.value,
        direction=spec.direction,
        baseline_points=WEEK,
        min_samples=48,
        min_weight=spec.min_volume,
        pending_for=3,
        resolve_after=3,
        cooldown=timedelta(hours=12),
    )
    settings.update(overrides)
    return DetectorConfig(**settings)


def fixed(metric: str, control_limit: float, **overrides: Any) -> DetectorConfig:
    """A detector against a fixed control limit (a brief's target), in the metric's
    direction, pooled to the metric's minimum volume."""
    spec = METRICS[Metric(metric)]
    settings: dict[str, Any] = dict(
        metric=spec.metric.value,
        direction=spec.direction,
        control_limit=control_limit,
        min_samples=3,
        min_weight=spec.min_volume,
        pending_for=3,
        resolve_after=3,
        cooldown=timedelta(hours=24),
    )
    settings.update(overrides)
    return DetectorConfig(**settings)


def detectors_for(
    kind: str, *, control_limit: float | None = None, pacing_tolerance_pct: float = 10
) -> AnyConfig:
    """The detector for an anomaly kind. ``control_limit`` is the brief's success
    target for CPA (without one CPA is judged against its own baseline);
    ``pacing_tolerance_pct`` is the brief's pacing SLA tolerance."""
    if kind == CPM_SPIKE:
        return adaptive(Metric.CPM, k=3.5, min_change=0.3, pending_for=3)
    if kind == CPC_SPIKE:
        # The cost most platforms report first. Clicks are ~100x thinner than
        # impressions: points pool to 100 clicks (a CPC within ±10 % by chance alone),
        # or a healthy market's quiet hours open incidents (tests/monitoring).
        return adaptive(Metric.CPC, k=3.5, min_change=0.35, min_weight=100, pending_for=3)
    if kind == CPA_ABOVE_LIMIT:
        if control_limit is None:
            return adaptive(
                Metric.CPA, min_change=0.35, min_weight=25, cooldown=timedelta(hours=24)
            )
        # A pooled CPA from 25 conversions is within ±20 % one time in 20 or so: enough
        # to trust three in a row above the brief's limit.
        return fixed(Metric.CPA, control_limit, min_weight=25)
    if kind == CONVERSION_DROP:
        # Conversions are thin (a few an hour): judge, every hour, the trailing run of
        # hours holding 2,000 clicks (~90 conversions at 4.5 %). TRICKY: the baseline
        # mixes weekdays and weekends (CVR dips ~15 % at weekends), so a drop must also
        # be 45 % or more, or quiet Sundays would flag (40 %: 5x the false flags in the
        # bench for 4 points more recall).
        return adaptive(
            Metric.CVR,
            k=2.5,
            min_change=0.45,
            min_weight=0,
            smooth_points=48,
            smooth_weight=2000,
            proportion_of=100.0,
            pending_for=3,
        )
    if kind == BROKEN_LINK:
        # Fires on the first bucket where most checks fail: a broken landing page
        # burns every click, and link checks do not fail by chance at this rate.
        return DetectorConfig(
            metric=Metric.LINK_HEALTH.value,
            direction=Direction.UP_IS_BAD,
            control_limit=50.0,
            min_samples=0,
            min_weight=METRICS[Metric.LINK_HEALTH].min_volume,
            max_pool_points=3,
            pending_for=1,
            resolve_after=2,
            cooldown=timedelta(hours=1),
        )
    if kind == PACING_DRIFT:
        # Judged on a trailing day of spend against a trailing day of plan: hourly spend
        # follows the audience's day, so an hour against 1/24 of the plan means nothing.
        return DetectorConfig(
            metric=Metric.SPEND_PACE.value,
            direction=Direction.EITHER_IS_BAD,
            control_limit=float(pacing_tolerance_pct),
            lower_limit=-float(pacing_tolerance_pct),
            smooth_points=24,
            min_samples=24,
            pending_for=2,
            resolve_after=3,
            cooldown=timedelta(hours=24),
        )
    if kind == AUDIENCE_FATIGUE:
        # TRICKY: fatigue is a composite. Frequency rising alone is a retargeting
        # campaign doing its job; CTR falling alone is a creative or market problem.
        # Both at once — the same people seeing the ad more and clicking less — is
        # fatigue. Both parts judge against their own 7-day baseline.
        return CompositeConfig(
            parts=(
                adaptive(Metric.FREQUENCY, k=3.0, min_change=0.2),
                adaptive(Metric.CTR, k=2.5, min_change=0.2),
            ),
            pending_for=3,
            resolve_after=6,
            cooldown=timedelta(hours=48),
        )
    raise ValueError(f"Unknown anomaly kind “{kind}”.")


#: Every kind's detector with default settings (CPA without a brief target is adaptive).
DEFAULT_DETECTORS: Mapping[str, AnyConfig] = {kind: detectors_for(kind) for kind in KINDS}


def responses_for(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The response per kind, with a brand's overrides applied (validated)."""
    responses = dict(DEFAULT_RESPONSES)
    for kind, response in (overrides or {}).items():
        if kind not in DEFAULT_RESPONSES:
            raise ValueError(f"Unknown anomaly kind “{kind}”.")
        if response not in RESPONSES:
            raise ValueError(f"Unknown response “{response}”; use one of {', '.join(RESPONSES)}.")
        responses[kind] = response
    return responses
