"""What a detector reads and says about one series: observations in, transitions out,
the states an incident goes through, and how a series is judged (``DetectorConfig``,
``CompositeConfig``). Plus the small helpers every stateful part uses to snapshot itself
to plain JSON (``iso``, ``parse_iso``, ``json_float``, ``check_version``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from campaigns.domain.metrics import METRICS, BucketLike, Direction, reading

from ..novelty import NoveltySettings

SNAPSHOT_VERSION = 1


class State(StrEnum):
    """Detector states. The last three are ``monitoring.models.FlagState`` values; the
    detector also has *inactive* (no incident open, none recently resolved)."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


#: No incident open: nothing pending or firing.
CLOSED = (State.INACTIVE, State.RESOLVED)


@dataclass(frozen=True)
class Observation:
    """One point of a series. ``weight`` is the volume behind ``value`` (conversions
    for CPA, impressions for CTR). ``numerator`` defaults to ``value * weight``; give it
    when the weight is 0 but something happened (spend without a conversion)."""

    at: datetime
    value: float
    weight: float = 1.0
    numerator: float | None = None

    @classmethod
    def of(cls, metric: str, at: datetime, bucket: BucketLike) -> Observation | None:
        """The observation of ``metric`` in one bucket, or None if it says nothing."""
        found = reading(metric, bucket)
        if found is None:
            return None
        return cls(at, found.value, found.weight, found.numerator)


@dataclass(frozen=True)
class Transition:
    """A change of an incident's state, with what explains it: the value seen, the limit
    it crossed, the band the detector expected the value in (either side may be open),
    and since when the incident has been building."""

    at: datetime
    from_state: State
    to_state: State
    observed: float
    limit: float | None
    explanation: str
    expected_low: float | None = None
    expected_high: float | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class DetectorConfig:
    """How one metric's series is judged.

    Fixed limit (``control_limit``) and/or adaptive baseline (``baseline_points`` > 0):
    with both, a point is bad if it crosses either. ``control_limit`` is the limit on
    the bad side (a ceiling when up is bad, a floor when down is bad); with
    ``Direction.EITHER_IS_BAD`` it is the ceiling and ``lower_limit`` the floor.
    Counts (``min_samples``, ``pending_for``, ``resolve_after``) are in judged points —
    pooled points count once; with hourly buckets and enough volume a point is an hour.
    """

    metric: str
    direction: Direction
    control_limit: float | None = None
    lower_limit: float | None = None
    #: Adaptive baseline: the trailing window size in points (0 = none) …
    baseline_points: int = 0
    #: … a point is bad beyond median ± max(k · 1.4826 · MAD, min_change · |median|).
    #: ``min_change`` stops a very steady series from flagging trivial moves.
    k: float = 3.0
    min_change: float = 0.25
    #: For a proportion (CTR, CVR: value = scale · successes / trials) give the scale
    #: (100 for %): the limit then also respects the binomial noise of the point's
    #: own volume, never narrower than k of those standard errors. 0 = not a proportion.
    proportion_of: float = 0.0
    min_samples: int = 24
    min_weight: float = 0.0
    #: A pool still lighter than ``min_weight`` after this many points is judged anyway:
    #: a day with 2 conversions where 20 were usual is itself worth judging.
    max_pool_points: int = 24
    #: Judge the pooled ratio over the trailing N points (pacing judges a trailing day,
    #: which cancels the diurnal cycle). 1 = no smoothing.
    smooth_points: int = 1
    #: With ``smooth_points``: judge the *shortest* trailing run of points that still
    #: weighs this much (up to ``smooth_points`` long) — a sliding pool, judged every
    #: point, for metrics too thin to judge per bucket (CVR from a handful of
    #: conversions). 0 = always ``smooth_points`` long.
    smooth_weight: float = 0.0
    pending_for: int = 3
    resolve_after: int = 3
    cooldown: timedelta = timedelta(hours=12)
    #: The span one point covers, for "for 3 h" in explanations (and a day's length in
    #: points, for the novelty judge's season view).
    bucket: timedelta = timedelta(hours=1)
    label: str = ""
    unit: str = ""
    #: Judge novelty (``monitoring.domain.novelty``): a point is bad when it goes beyond
    #: anything the series has done. With a baseline too, the baseline judges until the
    #: novelty judge has enough history (``min_history``), then hands over.
    novelty: NoveltySettings | None = None

    def __post_init__(self) -> None:
        # Configs may come from JSON (a brand's overrides): plain strings become enums,
        # which the hot path compares by identity.
        object.__setattr__(self, "direction", Direction(self.direction))
        object.__setattr__(self, "novelty", NoveltySettings.of(self.novelty))
        spec = METRICS.get(self.metric)
        if not self.label:
            object.__setattr__(self, "label", spec.label if spec else self.metric)
        if not self.unit:
            object.__setattr__(self, "unit", spec.unit if spec else "number")
        if (
            self.control_limit is None
            and self.lower_limit is None
            and not self.baseline_points
            and self.novelty is None
        ):
            raise ValueError("A detector needs a control limit, an adaptive baseline or novelty.")
        if self.pending_for < 1 or self.resolve_after < 1 or self.smooth_points < 1:
            raise ValueError("pending_for, resolve_after and smooth_points are at least 1.")
        if self.max_pool_points < 1 or self.baseline_points < 0 or self.min_samples < 0:
            raise ValueError("Window and sample sizes cannot be negative.")


@dataclass(frozen=True)
class CompositeConfig:
    """Several metrics that must all be bad at once (audience fatigue: frequency up *and*
    CTR down). Each part's own pending/resolve/cooldown settings are ignored; these are
    used instead."""

    parts: tuple[DetectorConfig, ...]
    pending_for: int = 3
    resolve_after: int = 3
    cooldown: timedelta = timedelta(hours=24)
    bucket: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if len(self.parts) < 2:
            raise ValueError("A composite detector has at least two parts.")
        if len({p.metric for p in self.parts}) != len(self.parts):
            raise ValueError("A composite detector's parts watch different metrics.")


AnyConfig = DetectorConfig | CompositeConfig


# Snapshot helpers (plain JSON) ------------------------------------------------------


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def json_float(x: float) -> float | str:
    """Floats for JSON: PostgreSQL's jsonb has no Infinity/NaN, so those go as text."""
    return x if math.isfinite(x) else str(x)


def check_version(snapshot: Mapping[str, Any]) -> None:
    if snapshot.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"Unknown detector snapshot version {snapshot.get('version')!r}.")


def finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None
