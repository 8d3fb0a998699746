"""Backtests: "how would this detector have done on my data?" — the same streaming
detector the live monitor runs, fed a whole series point by point, with the band it
expected at each judged point (``backtest``) or when each incident fired
(``firing_times``, what ``manage.py detect_anomalies`` prints). ``detector_for_metric``
chooses the detector a backtest of one metric runs (the live one for that metric), and
``novelty_detector`` the one for a plain series."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from campaigns.domain.metrics import Direction, Metric

from ..novelty import NoveltySettings
from .detectors import Detector, detect
from .kinds import (
    CPA_ABOVE_LIMIT,
    KIND_FOR_METRIC,
    PACING_DRIFT,
    adaptive,
    detectors_for,
    fixed,
)
from .series import AnyConfig, DetectorConfig, Observation, State, finite


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
                low=finite(judge.low),
                high=finite(judge.high),
                bad=bool(judge.bad),
                fired=any(t.to_state is State.FIRING for t in transitions),
            )
        )
    return points


def firing_times(config: DetectorConfig, observations: Iterable[Observation]) -> list[datetime]:
    """When each incident started firing (what ``manage.py detect_anomalies`` prints)."""
    return [t.at for t in detect(config, observations) if t.to_state is State.FIRING]


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
    """A detector judging novelty (``monitoring.domain.novelty``) alone: what a backtest of a plain
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
