"""The streaming detectors: ``Detector`` (one metric of one series), ``CompositeDetector``
(several metrics that must all be bad at once), and ``Monitor`` (every kind's detector
over one series of buckets, what the live system runs per series). Each feeds its
judges, steps its incident machine and snapshots to plain JSON between ingestion
batches; ``detect`` runs one over a whole series."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from campaigns.domain.metrics import METRICS, BucketLike, raw_reading

from .explanations import explain
from .incidents import Incident
from .judging import Judge
from .kinds import DEFAULT_DETECTORS, DEFAULT_RESPONSES
from .series import (
    CLOSED,
    SNAPSHOT_VERSION,
    AnyConfig,
    CompositeConfig,
    DetectorConfig,
    Observation,
    State,
    Transition,
    check_version,
    iso,
    parse_iso,
)


class Detector:
    """A streaming detector for one series. ``observe`` takes points in time order;
    points at or before the last one seen are ignored, so a redelivered ingestion
    batch is harmless."""

    __slots__ = ("banded", "config", "incident", "judge", "last_at", "spec")

    def __init__(self, config: DetectorConfig, *, banded: bool = False) -> None:
        self.config = config
        self.spec = METRICS.get(config.metric)
        self.judge = Judge(config)
        self.incident = Incident(
            pending_for=config.pending_for,
            resolve_after=config.resolve_after,
            cooldown=config.cooldown,
        )
        self.last_at: datetime | None = None
        #: Work out the band on every judged point. The live path skips it on a quiet point
        #: with nothing open (the fast path in ``Judge._judge``); the verdict is the same.
        self.banded = banded

    @property
    def state(self) -> State:
        return self.incident.state

    @property
    def idle(self) -> bool:
        """No incident open and nothing pooled. A healthy point at full volume then
        changes nothing but counters, so a caller may skip judging it (the ingestion
        does, for the link checks every event carries)."""
        return self.incident.state in CLOSED and self.judge.pool_n == 0

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
        return [explain(at, change, [judge], incident, self.config.bucket)]

    def snapshot(self) -> dict[str, Any]:
        """The whole state as plain JSON types (store it between ingestion batches)."""
        return {
            "version": SNAPSHOT_VERSION,
            "last_at": iso(self.last_at),
            "incident": self.incident.snapshot(),
            "judge": self.judge.snapshot(),
        }

    @classmethod
    def restore(cls, config: DetectorConfig, snapshot: Mapping[str, Any]) -> Detector:
        """A detector that continues exactly where the snapshotted one stopped. The
        config comes from code/brand settings, not the snapshot; if its window shrank,
        the oldest baseline points are dropped."""
        check_version(snapshot)
        detector = cls(config)
        detector.last_at = parse_iso(snapshot["last_at"])
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
        self.judges = [Judge(p) for p in config.parts]
        self.specs = [METRICS.get(p.metric) for p in config.parts]
        self.verdicts: list[bool | None] = [None] * len(self.judges)
        self.incident = Incident(
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
        return self.incident.state in CLOSED and all(j.pool_n == 0 for j in self.judges)

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
        return [explain(at, change, self.judges, incident, self.config.bucket)]

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "last_at": iso(self.last_at),
            "incident": self.incident.snapshot(),
            "judges": [j.snapshot() for j in self.judges],
            "verdicts": list(self.verdicts),
        }

    @classmethod
    def restore(cls, config: CompositeConfig, snapshot: Mapping[str, Any]) -> CompositeDetector:
        check_version(snapshot)
        detector = cls(config)
        detector.last_at = parse_iso(snapshot["last_at"])
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
