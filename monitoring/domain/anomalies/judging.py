"""Judging one metric's points: pooling light points until they carry enough volume,
optional trailing smoothing, then the verdict against the fixed control limit, the robust
baseline (``baselines.py``) and/or the novelty judge (``..novelty``). The verdict is left
on the judge (no allocation on the hot path); the incident machine (``incidents.py``)
decides what it means."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from campaigns.domain.metrics import Direction

from ..novelty import NoveltyJudge, Verdict
from .baselines import MAD_TO_SIGMA, Window
from .series import DetectorConfig, iso, json_float, parse_iso


class Judge:
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
        self.window = Window(config.baseline_points)
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
            "pool": [self.pool_num, self.pool_w, self.pool_n, iso(self.pool_start)],
            "smooth": [list(p) for p in self.smooth],
            "smooth_sums": [self.smooth_num, self.smooth_w],
            "seen": self.seen,
            "raw": self.raw,
            "window": list(self.window.fifo),
            # The last verdict: a composite explains a part that did not close this step
            # by it, so it must survive a restore too.
            "last": [
                json_float(self.value),
                self.bad,
                None if self.limit is None else json_float(self.limit),
                self.median,
                self.how,
                iso(self.start_at),
            ],
            "band": [self.low, self.high, list(self.views)],
            **({"novelty": self.novel.snapshot()} if self.novel is not None else {}),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        self.pool_num, self.pool_w, self.pool_n, start = data["pool"]
        self.pool_start = parse_iso(start)
        self.smooth = deque((float(n), float(w)) for n, w in data["smooth"])
        self.smooth_num, self.smooth_w = data["smooth_sums"]
        if len(self.smooth) > self.config.smooth_points:  # the config changed: start over
            self.smooth.clear()
            self.smooth_num = self.smooth_w = 0.0
        self.seen, self.raw = data["seen"], data["raw"]
        self.window = Window(self.config.baseline_points, data["window"])
        value, self.bad, limit, self.median, self.how, start = data["last"]
        self.value, self.start_at = float(value), parse_iso(start)
        self.limit = None if limit is None else float(limit)
        low, high, views = data.get("band", (None, None, ()))
        self.low, self.high, self.views = low, high, tuple(views)
        if self.novel is not None and "novelty" in data:
            self.novel.restore(data["novelty"])
