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
  into one point (Σnumerator / Σweight — the exact pooled ratio, see
  ``campaigns.domain.metrics``), so three quiet night hours make one CPA instead of three
  noisy ones.
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

Kinds and their default detectors/responses are data (``kinds.py``:
``DEFAULT_DETECTORS``, ``DEFAULT_RESPONSES``); kind and state names match
``monitoring.models.AnomalyKind`` / ``FlagState`` / ``FlagResponse`` (a test holds them
equal; this package does not import Django).

The modules, by job (import from the package; the modules are an implementation detail):

- ``series``: observations in, transitions out, the states, the configs; JSON helpers;
- ``baselines``: the trailing window's median and MAD (the robust baseline);
- ``judging``: pooling, smoothing and the verdict on one metric's point;
- ``incidents``: the incident machine (pending → firing → resolved, cooldown);
- ``explanations``: the words of a transition;
- ``detectors``: ``Detector``, ``CompositeDetector`` and ``Monitor`` (every kind over a
  series), and ``detect`` over a whole series;
- ``kinds``: the kinds, their default detectors and responses;
- ``backtest``: a detector replayed over a series, and which detector a backtest runs.
"""

from .backtest import (
    NOVELTY_GROUPING,
    BacktestPoint,
    backtest,
    detector_for_metric,
    firing_times,
    novelty_detector,
)
from .baselines import MAD_TO_SIGMA
from .detectors import (
    CompositeDetector,
    Detector,
    Flagged,
    Monitor,
    detect,
    make_detector,
    restore_detector,
)
from .kinds import (
    AUDIENCE_FATIGUE,
    BROKEN_LINK,
    CONVERSION_DROP,
    CPA_ABOVE_LIMIT,
    CPC_SPIKE,
    CPM_SPIKE,
    DEFAULT_DETECTORS,
    DEFAULT_RESPONSES,
    KIND_FOR_METRIC,
    KINDS,
    PACING_DRIFT,
    RESPONSES,
    WEEK,
    adaptive,
    detectors_for,
    fixed,
    responses_for,
)
from .series import (
    SNAPSHOT_VERSION,
    AnyConfig,
    CompositeConfig,
    DetectorConfig,
    Observation,
    State,
    Transition,
)

__all__ = [
    "AUDIENCE_FATIGUE",
    "BROKEN_LINK",
    "CONVERSION_DROP",
    "CPA_ABOVE_LIMIT",
    "CPC_SPIKE",
    "CPM_SPIKE",
    "DEFAULT_DETECTORS",
    "DEFAULT_RESPONSES",
    "KINDS",
    "KIND_FOR_METRIC",
    "MAD_TO_SIGMA",
    "NOVELTY_GROUPING",
    "PACING_DRIFT",
    "RESPONSES",
    "SNAPSHOT_VERSION",
    "WEEK",
    "AnyConfig",
    "BacktestPoint",
    "CompositeConfig",
    "CompositeDetector",
    "Detector",
    "DetectorConfig",
    "Flagged",
    "Monitor",
    "Observation",
    "State",
    "Transition",
    "adaptive",
    "backtest",
    "detect",
    "detector_for_metric",
    "detectors_for",
    "firing_times",
    "fixed",
    "make_detector",
    "novelty_detector",
    "responses_for",
    "restore_detector",
]
