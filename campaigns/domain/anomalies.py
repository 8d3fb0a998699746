"""Anomaly detectors, in pure Python: streaming, robust, one incident → one flag.

Modelled on PostHog's alert detectors (``posthog/tasks/alerts/detectors/``): a detector
judges the newest point against a baseline it was *not* trained on, and an alert moves
through states like an alerting tool's. Here it is streaming rather than batch, because
the live system feeds telemetry as it arrives and keeps each series' state between
ingestion batches.

The lifecycle of one series (a campaign's channel/variant, one metric)::

    observation ─▶ pool until enough volume ─▶ (optional trailing smoothing)
        ─▶ judge against the control limit and/or a robust baseline (median ± k·MAD of
           the trailing window, the point itself excluded)
        ─▶ incident state machine:

    inactive ─bad─▶ pending ─pending_for bad─▶ firing ─resolve_after good─▶ resolved
       ▲               │ good                                                  │
       └───────────────┘ (back to where it came from: inactive or resolved)    │
    resolved ─bad, once the cooldown is over─▶ pending (a new incident) ◀───────┘

Rules that make noisy low-volume marketing data usable:

* **Volume.** Each observation has a weight (conversions behind a CPA, impressions
  behind a CTR). Points lighter than ``min_weight`` are pooled with the following ones
  into one point (Σnumerator / Σweight — the exact pooled ratio, see ``metrics.py``), so
  three quiet night hours make one CPA instead of three noisy ones.
* **Direction.** Only the bad side fires: a CPA rise, a CTR drop.
* **Persistence.** A point beyond the limit opens a *pending* incident; it fires after
  ``pending_for`` consecutive bad points, so a single noisy spike does not.
* **No look-ahead.** The decision at t uses points ≤ t only; the baseline excludes the
  point being judged (PostHog's ``training_offset``) and — TRICKY — excludes points judged
  bad, so an incident cannot teach the baseline that it is normal and resolve itself.
  The flip side: a permanent level shift keeps its incident firing until someone acts
  or the values come back; that is the intent (the flag stays open and visible).
* **Grouping.** One incident has exactly one firing transition and one resolved
  transition; after resolving, nothing new opens for ``cooldown``.

Per-point cost is O(log n): a deque plus a sorted list (``bisect``) for the window, and
the MAD by selection on that sorted list instead of a sort. The state snapshots to plain
JSON (``Detector.snapshot`` / ``Detector.restore``).

Kinds and their default detectors/responses are data at the bottom of this module
(``DEFAULT_DETECTORS``, ``DEFAULT_RESPONSES``); kind and state names match
``campaigns.models.AnomalyKind`` / ``FlagState`` / ``FlagResponse`` (a test holds them
equal; this module does not import Django).
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .metrics import METRICS, BucketLike, Direction, Metric, format_value, raw_reading, reading
from .novelty import LEVEL, SEASON, SMOOTHED, SWING, NoveltyJudge, NoveltySettings, Verdict

SNAPSHOT_VERSION = 1
#: 1.4826 · MAD estimates the standard deviation of normally distributed data.
MAD_TO_SIGMA = 1.4826


class State(StrEnum):
    """Detector states. The last three are ``campaigns.models.FlagState`` values; the
    detector also has *inactive* (no incident open, none recently resolved)."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


#: No incident open: nothing pending or firing.
_CLOSED = (State.INACTIVE, State.RESOLVED)


# --------------------------------------------------------------------------- data in/out


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
    #: Judge novelty (``novelty.py``): a point is bad when it goes beyond anything the
    #: series has done. With a baseline too, the baseline judges until the novelty judge
    #: has enough history (``min_history``), then hands over.
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


# ------------------------------------------------------------------- the robust baseline


class _Window:
    """The trailing ``size`` values in arrival order and sorted, for an O(log n)
    median and MAD (inserting into a list of a few hundred floats is a memmove)."""

    __slots__ = ("fifo", "size", "sorted")

    def __init__(self, size: int, values: Iterable[float] = ()) -> None:
        self.size = size
        self.fifo: deque[float] = deque(values)
        while len(self.fifo) > size:
            self.fifo.popleft()
        self.sorted: list[float] = sorted(self.fifo)

    def __len__(self) -> int:
        return len(self.fifo)

    def add(self, value: float) -> None:
        self.fifo.append(value)
        insort(self.sorted, value)
        if len(self.fifo) > self.size:
            old = self.fifo.popleft()
            del self.sorted[bisect_left(self.sorted, old)]

    def median(self) -> float:
        s, n = self.sorted, len(self.sorted)
        half = n // 2
        return s[half] if n % 2 else (s[half - 1] + s[half]) / 2

    def mad(self, median: float) -> float:
        """Median absolute deviation from ``median``, without building the deviations:
        they are two sorted runs (below and above the median), and the k-th smallest
        of two sorted runs is a binary search."""
        n = len(self.sorted)
        half = n // 2
        if n % 2:
            return self._kth_deviation(half, median)
        return (self._kth_deviation(half - 1, median) + self._kth_deviation(half, median)) / 2

    def _kth_deviation(self, k: int, m: float) -> float:
        s = self.sorted
        p = bisect_left(s, m)  # s[:p] < m <= s[p:]
        na, nb = p, len(s) - p

        # below[i] = m - s[p-1-i] and above[j] = s[p+j] - m, both increasing
        def below(i: int) -> float:
            return m - s[p - 1 - i]

        def above(j: int) -> float:
            return s[p + j] - m

        # take i from below and k+1-i from above: the smallest i with below[i] >= above[k-i]
        lo, hi = max(0, k + 1 - nb), min(k + 1, na)
        while lo < hi:
            i = (lo + hi) // 2
            if below(i) < above(k - i):
                lo = i + 1
            else:
                hi = i
        i, j = lo, k + 1 - lo
        return max(below(i - 1) if i > 0 else -math.inf, above(j - 1) if j > 0 else -math.inf)


# ------------------------------------------------------------------------------ judging


class _Judge:
    """Pooling, smoothing and judging for one metric. Leaves its verdict on itself
    (``value``, ``bad``, ``limit``, ``median``, ``how``) so the hot path allocates
    nothing; explanations are only written when a transition happens."""

    __slots__ = (
        "bad",
        "config",
        "high",
        "how",
        "limit",
        "low",
        "median",
        "novel",
        "pool_n",
        "pool_num",
        "pool_start",
        "pool_w",
        "raw",
        "seen",
        "smooth",
        "smooth_num",
        "smooth_w",
        "start_at",
        "value",
        "views",
        "window",
    )

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.novel: NoveltyJudge | None = None
        if config.novelty is not None:
            day = timedelta(days=1) / config.bucket if config.bucket else 0
            self.novel = NoveltyJudge(
                config.novelty,
                up=config.direction is not Direction.DOWN_IS_BAD,
                down=config.direction is not Direction.UP_IS_BAD,
                period=round(day) if day >= 2 else 0,
            )
        self.pool_num = self.pool_w = 0.0
        self.pool_n = 0
        self.pool_start: datetime | None = None
        self.smooth: deque[tuple[float, float]] = deque()
        self.smooth_num = self.smooth_w = 0.0
        self.seen = 0
        self.raw = 0  # observations that went into judged points (pooling ratio)
        self.window = _Window(config.baseline_points)
        self._clear_verdict()

    def _clear_verdict(self) -> None:
        self.value = math.nan
        self.bad: bool | None = None
        self.limit: float | None = None
        self.median: float | None = None
        self.how = ""  # "fixed", "adaptive" or "novel": what the limit is
        self.start_at: datetime | None = None
        # The band the value was expected in (None: open on that side) and, for a novel
        # point, which views of the series were new.
        self.low: float | None = None
        self.high: float | None = None
        self.views: tuple[str, ...] = ()

    def feed(
        self, at: datetime, value: float, weight: float, numerator: float | None, detailed: bool
    ) -> bool:
        """Take one observation (as plain values: this is the hot path); True when it
        closed a point and judged it (``bad`` is then True/False, or None before
        ``min_samples``). ``detailed`` asks for the limit even on a good point (an open
        incident may be about to change state)."""
        c = self.config
        if numerator is None:
            numerator = value * weight if weight > 0 else 0.0
        if (weight <= 0 and numerator == 0) or numerator != numerator:
            return False  # nothing happened (or NaN): no point
        if self.pool_n == 0:
            self.pool_start = at  # a single point keeps its value: v·w/w can be off by an ulp
        self.pool_num += numerator
        self.pool_w += weight
        self.pool_n += 1
        if self.pool_w < c.min_weight and self.pool_n < c.max_pool_points:
            return False
        if self.pool_n > 1:
            value = self.pool_num / self.pool_w if self.pool_w > 0 else math.inf
        pooled_num, pooled_w, pool_n = self.pool_num, self.pool_w, self.pool_n
        self.bad = self.limit = self.median = self.low = self.high = None
        self.how = ""
        self.views = ()
        self.start_at = self.pool_start
        self.pool_num = self.pool_w = 0.0
        self.pool_n = 0
        self.pool_start = None
        if c.smooth_points > 1:
            self.smooth.append((pooled_num, pooled_w))
            self.smooth_num += pooled_num
            self.smooth_w += pooled_w
            smooth = self.smooth
            while len(smooth) > c.smooth_points or (
                c.smooth_weight
                and len(smooth) > 1
                and self.smooth_w - smooth[0][1] >= c.smooth_weight
            ):
                old_num, old_w = smooth.popleft()
                self.smooth_num -= old_num
                self.smooth_w -= old_w
            value = self.smooth_num / self.smooth_w if self.smooth_w > 0 else math.inf
        self.value = value
        self.seen += 1
        self.raw += pool_n
        # The novelty judge sees every point, warm-up included: it learns as it goes.
        verdict = self.novel.judge(value) if self.novel and math.isfinite(value) else None
        if self.seen > c.min_samples:
            weight = self.smooth_w if c.smooth_points > 1 else pooled_w
            self._judge(value, weight, detailed, verdict)
        if not self.bad and c.baseline_points and math.isfinite(value):
            self.window.add(value)
        return True

    def _judge(self, x: float, weight: float, detailed: bool, verdict: Verdict | None) -> None:
        c = self.config
        up = c.direction is not Direction.DOWN_IS_BAD
        down = c.direction is not Direction.UP_IS_BAD
        ceiling = c.control_limit if up else None
        floor = c.lower_limit if c.direction is Direction.EITHER_IS_BAD else None
        if c.direction is Direction.DOWN_IS_BAD:
            floor = c.control_limit
        self.low, self.high = floor, ceiling
        if (ceiling is not None and x > ceiling) or (floor is not None and x < floor):
            self.bad, self.how = True, "fixed"
            self.limit = ceiling if ceiling is not None and x > ceiling else floor
            return
        self.bad = False
        if ceiling is not None or floor is not None:
            self.how = "fixed"
            self.limit = ceiling if ceiling is not None else floor
            if ceiling is not None and floor is not None:
                self.limit = ceiling if x >= (ceiling + floor) / 2 else floor
        if verdict is not None:
            # The novelty judge has history enough: it judges (the baseline, if any,
            # judged the series' early life and now only keeps learning).
            self.bad, self.views = verdict.bad, verdict.views
            if self.how != "fixed" or verdict.bad:
                self.how = "novel"
                self.low = verdict.low if down else self.low
                self.high = verdict.high if up else self.high
                above = verdict.high is not None and x > verdict.high
                below = verdict.low is not None and x < verdict.low
                if above or below:
                    self.limit = verdict.high if above else verdict.low
                else:
                    self.limit = verdict.high if up and (not down or not below) else verdict.low
            return
        window = self.window
        if not c.baseline_points or len(window) < max(3, min(c.min_samples, c.baseline_points)):
            return
        m = window.median()
        floor_dev = c.min_change * abs(m)
        # Fast path: inside the minimum-change band nothing is bad and, unless asked,
        # nobody needs the limit — skip the MAD.
        if not detailed and (not up or x <= m + floor_dev) and (not down or x >= m - floor_dev):
            return
        sigma = MAD_TO_SIGMA * window.mad(m)
        if c.proportion_of and weight > 0 and 0 < m < c.proportion_of:
            # The sampling noise of a proportion from this point's volume: a CVR from
            # 300 clicks is noisier than the baseline's typical point says.
            sigma = max(sigma, math.sqrt(m * (c.proportion_of - m) / weight))
        dev = max(c.k * sigma, floor_dev)
        if dev <= 0:
            return  # a constant zero series: no scale to judge a change by
        if self.how != "fixed":
            self.low = m - dev if down else None
            self.high = m + dev if up else None
        if up and x > m + dev:
            self.bad, self.how, self.limit, self.median = True, "adaptive", m + dev, m
        elif down and x < m - dev:
            self.bad, self.how, self.limit, self.median = True, "adaptive", m - dev, m
        elif self.how != "fixed":
            self.how, self.median = "adaptive", m
            self.limit = m + dev if (up and (not down or x >= m)) else m - dev

    def window_span(self) -> float:
        """How many buckets the baseline window covers (pooled points cover several)."""
        return len(self.window) * (self.raw / self.seen if self.seen else 1.0)

    # Snapshot -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "pool": [self.pool_num, self.pool_w, self.pool_n, _iso(self.pool_start)],
            "smooth": [list(p) for p in self.smooth],
            "smooth_sums": [self.smooth_num, self.smooth_w],
            "seen": self.seen,
            "raw": self.raw,
            "window": list(self.window.fifo),
            # The last verdict: a composite explains a part that did not close this step
            # by it, so it must survive a restore too.
            "last": [
                _num(self.value),
                self.bad,
                None if self.limit is None else _num(self.limit),
                self.median,
                self.how,
                _iso(self.start_at),
            ],
            "band": [self.low, self.high, list(self.views)],
            **({"novelty": self.novel.snapshot()} if self.novel is not None else {}),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        self.pool_num, self.pool_w, self.pool_n, start = data["pool"]
        self.pool_start = _parse(start)
        self.smooth = deque((float(n), float(w)) for n, w in data["smooth"])
        self.smooth_num, self.smooth_w = data["smooth_sums"]
        if len(self.smooth) > self.config.smooth_points:  # the config changed: start over
            self.smooth.clear()
            self.smooth_num = self.smooth_w = 0.0
        self.seen, self.raw = data["seen"], data["raw"]
        self.window = _Window(self.config.baseline_points, data["window"])
        value, self.bad, limit, self.median, self.how, start = data["last"]
        self.value, self.start_at = float(value), _parse(start)
        self.limit = None if limit is None else float(limit)
        low, high, views = data.get("band", (None, None, ()))
        self.low, self.high, self.views = low, high, tuple(views)
        if self.novel is not None and "novelty" in data:
            self.novel.restore(data["novelty"])


# ------------------------------------------------------------------ the incident machine


class _Incident:
    """pending → firing → resolved, with cooldown. Knows nothing about metrics."""

    __slots__ = (
        "bad_run",
        "cooldown",
        "first_bad_at",
        "good_run",
        "pending_for",
        "resolve_after",
        "resolved_at",
        "rest",
        "state",
    )

    def __init__(self, *, pending_for: int, resolve_after: int, cooldown: timedelta) -> None:
        self.pending_for, self.resolve_after, self.cooldown = pending_for, resolve_after, cooldown
        self.state = State.INACTIVE
        self.rest = State.INACTIVE  # where a pending incident that clears goes back to
        self.bad_run = self.good_run = 0
        self.first_bad_at: datetime | None = None
        self.resolved_at: datetime | None = None

    def step(self, at: datetime, start_at: datetime, bad: bool) -> tuple[State, State] | None:
        """One judged point; the (from, to) change it makes, if any."""
        state = self.state
        if bad:
            self.good_run = 0
            if state is State.INACTIVE or state is State.RESOLVED:
                if (
                    state is State.RESOLVED
                    and self.resolved_at is not None
                    and at < self.resolved_at + self.cooldown
                ):
                    return None  # a relapse inside the cooldown is the same incident
                self.rest, self.bad_run, self.first_bad_at = state, 1, start_at
                self.state = State.FIRING if self.pending_for <= 1 else State.PENDING
                return state, self.state
            self.bad_run += 1
            if state is State.PENDING and self.bad_run >= self.pending_for:
                self.state = State.FIRING
                return state, State.FIRING
            return None
        self.bad_run = 0
        if state is State.PENDING:
            self.state = self.rest
            return state, self.rest
        if state is State.FIRING:
            self.good_run += 1
            if self.good_run >= self.resolve_after:
                self.state, self.resolved_at, self.good_run = State.RESOLVED, at, 0
                return state, State.RESOLVED
        return None

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "rest": self.rest.value,
            "bad_run": self.bad_run,
            "good_run": self.good_run,
            "first_bad_at": _iso(self.first_bad_at),
            "resolved_at": _iso(self.resolved_at),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        self.state, self.rest = State(data["state"]), State(data["rest"])
        self.bad_run, self.good_run = data["bad_run"], data["good_run"]
        self.first_bad_at = _parse(data["first_bad_at"])
        self.resolved_at = _parse(data["resolved_at"])


# ---------------------------------------------------------------------------- detectors


class Detector:
    """A streaming detector for one series. ``observe`` takes points in time order;
    points at or before the last one seen are ignored, so a redelivered ingestion
    batch is harmless."""

    __slots__ = ("banded", "config", "incident", "judge", "last_at", "spec")

    def __init__(self, config: DetectorConfig, *, banded: bool = False) -> None:
        self.config = config
        self.spec = METRICS.get(config.metric)
        self.judge = _Judge(config)
        self.incident = _Incident(
            pending_for=config.pending_for,
            resolve_after=config.resolve_after,
            cooldown=config.cooldown,
        )
        self.last_at: datetime | None = None
        #: Work out the band on every judged point. The live path skips it on a quiet point
        #: with nothing open (the fast path in ``_Judge._judge``); the verdict is the same.
        self.banded = banded

    @property
    def state(self) -> State:
        return self.incident.state

    @property
    def idle(self) -> bool:
        """No incident open and nothing pooled. A healthy point at full volume then
        changes nothing but counters, so a caller may skip judging it (the ingestion
        does, for the link checks every event carries)."""
        return self.incident.state in _CLOSED and self.judge.pool_n == 0

    def observe(self, obs: Observation) -> list[Transition]:
        return self._step(obs.at, obs.value, obs.weight, obs.numerator)

    def observe_bucket(self, at: datetime, bucket: BucketLike) -> list[Transition]:
        """Observe this detector's metric in one bucket (what the live system calls)."""
        found = raw_reading(self.spec, bucket) if self.spec is not None else None
        if found is None:
            return []
        return self._step(at, found[0], found[1], found[2])

    def _step(
        self, at: datetime, value: float, weight: float, numerator: float | None
    ) -> list[Transition]:
        if self.last_at is not None and at <= self.last_at:
            return []
        self.last_at = at
        incident, judge = self.incident, self.judge
        detailed = self.banded or incident.state is State.PENDING or incident.state is State.FIRING
        if not judge.feed(at, value, weight, numerator, detailed) or judge.bad is None:
            return []
        change = incident.step(at, judge.start_at or at, judge.bad)
        if change is None:
            return []
        if change[1] is State.FIRING and judge.novel is not None:
            judge.novel.fired()
        return [_transition(at, change, [judge], incident, self.config.bucket)]

    def snapshot(self) -> dict[str, Any]:
        """The whole state as plain JSON types (store it between ingestion batches)."""
        return {
            "version": SNAPSHOT_VERSION,
            "last_at": _iso(self.last_at),
            "incident": self.incident.snapshot(),
            "judge": self.judge.snapshot(),
        }

    @classmethod
    def restore(cls, config: DetectorConfig, snapshot: Mapping[str, Any]) -> Detector:
        """A detector that continues exactly where the snapshotted one stopped. The
        config comes from code/brand settings, not the snapshot; if its window shrank,
        the oldest baseline points are dropped."""
        _check_version(snapshot)
        detector = cls(config)
        detector.last_at = _parse(snapshot["last_at"])
        detector.incident.restore(snapshot["incident"])
        detector.judge.restore(snapshot["judge"])
        return detector


class CompositeDetector:
    """Fires when all its parts are bad at once. Each part pools at its own pace, so
    the composite judges on every point that closes any part, using each part's latest
    verdict."""

    __slots__ = ("config", "incident", "judges", "last_at", "specs", "verdicts")

    def __init__(self, config: CompositeConfig) -> None:
        self.config = config
        self.judges = [_Judge(p) for p in config.parts]
        self.specs = [METRICS.get(p.metric) for p in config.parts]
        self.verdicts: list[bool | None] = [None] * len(self.judges)
        self.incident = _Incident(
            pending_for=config.pending_for,
            resolve_after=config.resolve_after,
            cooldown=config.cooldown,
        )
        self.last_at: datetime | None = None

    @property
    def state(self) -> State:
        return self.incident.state

    @property
    def idle(self) -> bool:
        return self.incident.state in _CLOSED and all(j.pool_n == 0 for j in self.judges)

    def observe(self, at: datetime, observations: Mapping[str, Observation]) -> list[Transition]:
        """Observations by metric name, all at ``at`` (a missing metric is skipped)."""
        found = []
        for judge in self.judges:
            obs = observations.get(judge.config.metric)
            found.append(None if obs is None else (obs.value, obs.weight, obs.numerator))
        return self._step(at, found)

    def observe_bucket(self, at: datetime, bucket: BucketLike) -> list[Transition]:
        return self._step(at, [raw_reading(spec, bucket) if spec else None for spec in self.specs])

    def _step(
        self, at: datetime, found: Sequence[tuple[float, float, float | None] | None]
    ) -> list[Transition]:
        if self.last_at is not None and at <= self.last_at:
            return []
        self.last_at = at
        incident = self.incident
        detailed = incident.state is State.PENDING or incident.state is State.FIRING
        closed = False
        start_at = at
        for index, judge in enumerate(self.judges):
            reading = found[index]
            if reading is not None and judge.feed(at, *reading, detailed):
                closed = True
                self.verdicts[index] = judge.bad
                if judge.start_at is not None and judge.start_at < start_at:
                    start_at = judge.start_at
        if not closed or any(v is None for v in self.verdicts):
            return []
        change = incident.step(at, start_at, all(self.verdicts))
        if change is None:
            return []
        if change[1] is State.FIRING:
            for judge in self.judges:
                if judge.novel is not None:
                    judge.novel.fired()
        return [_transition(at, change, self.judges, incident, self.config.bucket)]

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "last_at": _iso(self.last_at),
            "incident": self.incident.snapshot(),
            "judges": [j.snapshot() for j in self.judges],
            "verdicts": list(self.verdicts),
        }

    @classmethod
    def restore(cls, config: CompositeConfig, snapshot: Mapping[str, Any]) -> CompositeDetector:
        _check_version(snapshot)
        detector = cls(config)
        detector.last_at = _parse(snapshot["last_at"])
        detector.incident.restore(snapshot["incident"])
        if len(snapshot["judges"]) == len(detector.judges):
            for judge, data in zip(detector.judges, snapshot["judges"], strict=True):
                judge.restore(data)
            detector.verdicts = list(snapshot["verdicts"])
        return detector


def make_detector(config: AnyConfig) -> Detector | CompositeDetector:
    return CompositeDetector(config) if isinstance(config, CompositeConfig) else Detector(config)


def restore_detector(
    config: AnyConfig, snapshot: Mapping[str, Any]
) -> Detector | CompositeDetector:
    if isinstance(config, CompositeConfig):
        return CompositeDetector.restore(config, snapshot)
    return Detector.restore(config, snapshot)


def detect(config: DetectorConfig, observations: Iterable[Observation]) -> list[Transition]:
    """Every transition over a whole series, in time order: the streaming detector fed
    point by point, so a backtest sees exactly what the live system would have."""
    detector = Detector(config)
    transitions: list[Transition] = []
    for obs in sorted(observations, key=lambda o: o.at):
        transitions.extend(detector.observe(obs))
    return transitions


@dataclass(frozen=True)
class BacktestPoint:
    """One judged point of a backtest: the value the detector judged (pooled or smoothed
    as the live detector does), the band it expected it in (None: open, or not judged
    yet), whether it was bad, and whether an incident started firing on it."""

    at: datetime
    value: float
    low: float | None
    high: float | None
    bad: bool
    fired: bool


def backtest(config: DetectorConfig, observations: Iterable[Observation]) -> list[BacktestPoint]:
    """The streaming detector over a whole series, point by point, with what it expected
    at each judged point: "how would this detector have done on my data?" — the same
    detector object the live monitor runs, so nothing here can disagree with it."""
    # banded: a chart of the backtest needs the band on quiet points too.
    detector = Detector(config, banded=True)
    judge = detector.judge
    points: list[BacktestPoint] = []
    for obs in sorted(observations, key=lambda o: o.at):
        seen = judge.seen
        transitions = detector.observe(obs)
        if judge.seen == seen or not math.isfinite(judge.value):
            continue  # pooled into a later point, a repeat, or nothing to judge
        points.append(
            BacktestPoint(
                at=obs.at,
                value=judge.value,
                low=_finite(judge.low),
                high=_finite(judge.high),
                bad=bool(judge.bad),
                fired=any(t.to_state is State.FIRING for t in transitions),
            )
        )
    return points


def firing_times(config: DetectorConfig, observations: Iterable[Observation]) -> list[datetime]:
    """When each incident started firing (what ``manage.py detect_anomalies`` prints)."""
    return [t.at for t in detect(config, observations) if t.to_state is State.FIRING]


# ------------------------------------------------------------------------- explanations


def _transition(
    at: datetime,
    change: tuple[State, State],
    judges: Sequence[_Judge],
    incident: _Incident,
    bucket: timedelta,
) -> Transition:
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
        expected_low=_finite(lead.low),
        expected_high=_finite(lead.high),
        since=incident.first_bad_at,
    )


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _clause(judge: _Judge, *, bad: bool) -> str:
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


def _novel_clause(judge: _Judge, value: str, *, bad: bool) -> str:
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


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _num(x: float) -> float | str:
    """Floats for JSON: PostgreSQL's jsonb has no Infinity/NaN, so those go as text."""
    return x if math.isfinite(x) else str(x)


def _check_version(snapshot: Mapping[str, Any]) -> None:
    if snapshot.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"Unknown detector snapshot version {snapshot.get('version')!r}.")


# ---------------------------------------------------------- kinds, defaults and responses

#: ``campaigns.models.AnomalyKind`` values.
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
#: (``campaigns.models.FlagResponse`` values). Money leaking to a broken page is paused
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


#: Incident grouping for novelty judging, in points: an incident resolves after this many
#: points back in range, and nothing new opens for as many again.
NOVELTY_GROUPING = 36


def novelty_detector(
    metric: str = "value",
    *,
    direction: Direction = Direction.EITHER_IS_BAD,
    bucket: timedelta = timedelta(hours=1),
    **overrides: Any,
) -> DetectorConfig:
    """A detector judging novelty (``novelty.py``) alone: what a backtest of a plain
    series runs. It fires on the first novel point (the judge is strict enough that one
    point is evidence), resolves after ``NOVELTY_GROUPING`` points back in range, and
    stays quiet as long again — one incident, one flag."""
    settings: dict[str, Any] = dict(
        metric=metric,
        direction=direction,
        novelty=NoveltySettings(),
        min_samples=0,
        pending_for=1,
        resolve_after=NOVELTY_GROUPING,
        cooldown=bucket * NOVELTY_GROUPING,
        bucket=bucket,
    )
    settings.update(overrides)
    return DetectorConfig(**settings)


def detector_for_metric(
    metric: str | None,
    *,
    control_limit: float | None = None,
    direction: Direction | None = None,
    bucket: timedelta | None = None,
) -> DetectorConfig:
    """The detector a backtest of one metric runs: the live one for that metric (with
    ``control_limit`` where the live one uses the brief's target; for spend pace it is
    the ± tolerance), else the metric's standard adaptive detector, or a fixed-limit one
    when ``control_limit`` is given. Without a metric: a plain number judged for novelty
    either way (or against ``control_limit`` when given). ``bucket`` is the series'
    spacing when it is not hourly."""
    if metric is None:
        if control_limit is not None:
            config = DetectorConfig(
                metric="value",
                direction=Direction.UP_IS_BAD,
                control_limit=control_limit,
                min_samples=3,
            )
        else:
            config = novelty_detector(bucket=bucket or timedelta(hours=1))
    else:
        metric = Metric(metric).value
        kind = KIND_FOR_METRIC.get(metric)
        if kind == CPA_ABOVE_LIMIT:
            config = _single(detectors_for(kind, control_limit=control_limit))
        elif kind == PACING_DRIFT:
            tolerance = 10.0 if control_limit is None else abs(control_limit)
            config = _single(detectors_for(kind, pacing_tolerance_pct=tolerance))
        elif kind is not None:
            config = _single(detectors_for(kind))
            if control_limit is not None:
                config = replace(config, control_limit=control_limit)
        elif control_limit is not None:
            config = fixed(metric, control_limit)
        else:
            config = adaptive(metric)
    if direction is not None:
        config = replace(config, direction=direction)
    if bucket is not None and config.bucket != bucket:
        config = replace(config, bucket=bucket)
    return config


def _single(config: AnyConfig) -> DetectorConfig:
    assert isinstance(config, DetectorConfig)
    return config


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


# ------------------------------------------------------------------- a series, all kinds


@dataclass(frozen=True)
class Flagged:
    """A detector transition for one kind, with the configured response."""

    kind: str
    response: str
    transition: Transition


@dataclass
class Monitor:
    """All kinds' detectors over one series of buckets (one campaign channel/variant):
    what the performance agent runs per series. Feed buckets in time order."""

    configs: Mapping[str, AnyConfig] = field(default_factory=lambda: dict(DEFAULT_DETECTORS))
    responses: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_RESPONSES))
    detectors: dict[str, Detector | CompositeDetector] = field(init=False)

    def __post_init__(self) -> None:
        self.detectors = {kind: make_detector(c) for kind, c in self.configs.items()}

    def observe(self, at: datetime, bucket: BucketLike) -> list[Flagged]:
        flagged = []
        for kind, detector in self.detectors.items():
            for t in detector.observe_bucket(at, bucket):
                flagged.append(Flagged(kind, self.responses.get(kind, "continue"), t))
        return flagged

    @property
    def idle(self) -> bool:
        """Every detector idle (see ``Detector.idle``)."""
        return all(d.idle for d in self.detectors.values())

    def snapshot(self) -> dict[str, Any]:
        return {kind: d.snapshot() for kind, d in self.detectors.items()}

    @classmethod
    def restore(
        cls,
        snapshot: Mapping[str, Any],
        configs: Mapping[str, AnyConfig] | None = None,
        responses: Mapping[str, str] | None = None,
    ) -> Monitor:
        monitor = cls(
            dict(configs if configs is not None else DEFAULT_DETECTORS),
            dict(responses if responses is not None else DEFAULT_RESPONSES),
        )
        for kind, data in snapshot.items():
            if kind in monitor.configs:
                monitor.detectors[kind] = restore_detector(monitor.configs[kind], data)
        return monitor
