"""The performance agent's watch: the detectors (``monitoring.domain.anomalies``) run over
each campaign's series, and what their transitions do — flags raised and resolved, the
configured response carried out (continue, optimise, pause, escalate), people told.

Series and what watches them:

======================  ==========================================  ====================
series                  kinds                                        judged
======================  ==========================================  ====================
the campaign            CPA above the brief's limit, pacing drift    each closed hour
one channel             CPM spike, conversion drop, fatigue          each closed hour
one variant             broken link                                  each link check, at once
======================  ==========================================  ====================

An hour is *closed* for a series when delivery for a later hour arrives, or when the
clock is past it (the beat sweep, ``monitoring_close_buckets``), so each hour is judged
once, in order, with no look-ahead — exactly what ``detect_anomalies`` does on an
export. Hours a campaign was not live (or a channel was paused) are skipped, not judged
as zero delivery. Each series' detector state is a ``DetectorState`` row, locked while
it advances, so two batches for one campaign queue up instead of judging twice.

About 500 lines: the watch's loop and what a transition does belong together; what it
reads is ``monitoring.selectors.series``.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.domain.metrics import Bucket
from campaigns.domain.phases import Phase
from campaigns.models import Campaign
from governance.domain.audit import Actor

from ..domain.anomalies import (
    Flagged,
    Monitor,
    State,
)
from ..domain.telemetry import TelemetryRow
from ..models import (
    AnomalyFlag,
    DetectorState,
    FlagState,
    Silence,
)
from ..selectors import series
from . import sql
from .flags import anomaly_flag_raise, anomaly_flag_resolve

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
#: The performance agent is who raises flags and carries out their responses.
WATCHER = Actor.for_agent("performance")
#: Phases whose delivery is judged; other hours are skipped.
DELIVERING = (Phase.EXECUTION, Phase.MONITORING)

# --- Entry points --------------------------------------------------------------------------


def detect_on_batch(*, rows: list[TelemetryRow], now: datetime) -> list[int]:
    """Judge what a stored batch closed (inside the ingestion's transaction): the hours
    before the newest one each series received, and every link check at once."""
    from .telemetry import bucket_start

    closes: dict[tuple[int, str], datetime] = {}
    links: list[TelemetryRow] = []
    for row in rows:
        hour = bucket_start(row.occurred_at)
        for key in ((row.campaign_id, ""), (row.campaign_id, row.channel)):
            if key not in closes or hour > closes[key]:
                closes[key] = hour
        if row.link_checks:
            links.append(row)
    return _advance(closes, links, now=now)


def monitoring_close_buckets(*, now: datetime | None = None) -> list[int]:
    """Beat's tick: judge the hours the clock has closed on delivering campaigns' series
    (an hour is closed once a grace period past its end has gone, for late reports)."""
    from .telemetry import bucket_start

    now = now or timezone.now()
    grace = timedelta(seconds=settings.CONTROLTOWER_TELEMETRY_CLOSE_GRACE_SECONDS)
    cutoff = bucket_start(now - grace)
    due = (
        DetectorState.objects.filter(variant="", campaign__phase__in=DELIVERING)
        .filter(Q(last_bucket__isnull=True) | Q(last_bucket__lt=cutoff - HOUR))
        .values_list("campaign_id", "channel")
    )
    closes = {(campaign_id, channel): cutoff for campaign_id, channel in due}
    # Campaigns delivering with no state yet (nothing reported so far) get one, so a
    # campaign that never delivers is still judged (its pacing drifts).
    for campaign_id in (
        Campaign.objects.filter(phase__in=DELIVERING, detector_states__isnull=True)
        .values_list("pk", flat=True)
        .distinct()
    ):
        closes.setdefault((campaign_id, ""), cutoff)
    if not closes:
        return []
    with transaction.atomic():
        return _advance(closes, [], now=now)


# --- Advancing the series --------------------------------------------------------------------


def _advance(
    closes: dict[tuple[int, str], datetime], links: list[TelemetryRow], *, now: datetime
) -> list[int]:
    campaign_ids = {campaign_id for campaign_id, _ in closes} | {r.campaign_id for r in links}
    campaigns = Campaign.objects.select_related("brief", "brand").in_bulk(campaign_ids)
    links = [r for r in links if r.campaign_id in campaigns]
    keys = {(cid, channel, "") for cid, channel in closes if cid in campaigns} | {
        (r.campaign_id, r.channel, r.variant) for r in links
    }
    states = _lock_states(keys)
    paused = series.paused_surfaces(campaign_ids)
    responses = _Responses()
    work = _Work(states, campaigns, responses)
    changed: list[tuple[tuple[int, str, str], Flagged]] = []

    # Closed hours of campaign and channel series, in order (and, for a series whose
    # state this process does not hold, the hours since its snapshot, replayed quietly).
    spans: dict[tuple[int, str], tuple[datetime | None, datetime]] = {}
    for (cid, channel), until in closes.items():
        state = states.get((cid, channel, ""))
        if state is None:
            continue
        start = state.last_bucket + HOUR if state.last_bucket else None
        if start is None or start < until:
            spans[(cid, channel)] = (start, until)
    replays = {
        key: state.snapshot_as_of + HOUR
        for key, state in states.items()
        if not key[2]
        and (key[0], key[1]) in spans
        and state.snapshot_as_of
        and state.last_bucket
        and state.snapshot_as_of < state.last_bucket
    }
    samples, first_hours = series.hourly_samples(spans, since=min(replays.values(), default=None))
    link_keys = {(r.campaign_id, r.channel, r.variant) for r in links}
    work.preload([(cid, channel, "") for cid, channel in spans] + list(link_keys))
    for (cid, channel), (start, until) in spans.items():
        key = (cid, channel, "")
        campaign = campaigns[cid]
        start = start or first_hours.get((cid, channel)) or until
        start = max(start, until - series.backfill())
        if start >= until:
            states[key].last_bucket = until - HOUR
            work.touch(key)
            continue
        monitor, replay_from = work.monitor(key, replay=replays.get(key))
        if replay_from is not None:
            _observe_hours(monitor, campaign, channel, replay_from, start, samples, paused)
        changed.extend(
            (key, flagged)
            for flagged in _observe_hours(monitor, campaign, channel, start, until, samples, paused)
        )
        states[key].last_bucket = until - HOUR

    # Link checks, each as it arrived. A series with nothing open skips healthy checks
    # (judging them would change nothing that matters; see ``Detector.idle``).
    by_series: dict[tuple[int, str, str], list[TelemetryRow]] = defaultdict(list)
    for row in links:
        by_series[(row.campaign_id, row.channel, row.variant)].append(row)
    for key, rows in by_series.items():
        campaign = campaigns[key[0]]
        if campaign.phase not in DELIVERING or series.is_paused(paused, *key):
            continue
        if states[key].idle and all(_healthy_check(r) for r in rows):
            continue
        monitor, _ = work.monitor(key)
        for row in sorted(rows, key=lambda r: r.occurred_at):
            check = Bucket(link_checks=row.link_checks, link_failures=row.link_failures)
            changed.extend((key, f) for f in monitor.observe(row.occurred_at, check))

    flagged_series = {key for key, _ in changed}
    work.save(flagged_series)

    flag_ids = []
    for (cid, channel, variant), flagged in changed:
        flag_id = flag_apply(
            campaign=campaigns[cid], channel=channel, variant=variant, flagged=flagged, now=now
        )
        if flag_id is not None:
            flag_ids.append(flag_id)
    return flag_ids


def _observe_hours(
    monitor: Monitor,
    campaign: Campaign,
    channel: str,
    start: datetime,
    until: datetime,
    samples: dict[tuple[int, str, datetime], Bucket],
    paused: set[tuple[int, str, str]],
) -> list[Flagged]:
    """Feed the hours [start, until) of one series; what the detectors said. Hours the
    campaign was not delivering, or the channel was paused, are skipped."""
    if campaign.phase not in DELIVERING or (
        channel and series.is_paused(paused, campaign.pk, channel, "")
    ):
        return []
    flagged: list[Flagged] = []
    hour = start
    while hour < until:
        bucket = series.hour_bucket(campaign, channel, hour, samples)
        if bucket is None and not channel:
            # The campaign delivered nothing this hour: pacing sees the shortfall.
            bucket = Bucket(planned_spend=series.planned_in(campaign, hour))
        if bucket is not None:
            flagged.extend(monitor.observe(hour, bucket))
        hour += HOUR
    return flagged


def _healthy_check(row: TelemetryRow) -> bool:
    return row.link_failures == 0 and row.link_checks >= _LINK_MIN_WEIGHT


class _Responses:
    """Each brand's flag responses, read once per batch."""

    def __init__(self) -> None:
        self._by_brand: dict[int, dict[str, str]] = {}

    def of(self, brand_id: int) -> dict[str, str]:
        if brand_id not in self._by_brand:
            self._by_brand[brand_id] = series.responses(brand_id)
        return self._by_brand[brand_id]


class _Work:
    """The series a batch touches: their monitors (from this process's memory when it
    holds the current revision, else from the stored snapshot) and how they are saved."""

    def __init__(self, states, campaigns, responses) -> None:
        self.states = states
        self.campaigns = campaigns
        self.responses = responses
        self.monitors: dict[tuple[int, str, str], Monitor] = {}
        self.touched: set[tuple[int, str, str]] = set()

    def touch(self, key: tuple[int, str, str]) -> None:
        self.touched.add(key)

    def preload(self, keys: Iterable[tuple[int, str, str]]) -> None:
        """Read the stored snapshots of the series this process does not hold, in one
        query (the state rows were locked without them)."""
        wanted = {
            self.states[key].pk: key
            for key in keys
            if key in self.states and not MONITORS.holds(key, self.states[key].revision)
        }
        self._snapshots = {
            wanted[pk]: text
            for pk, text in DetectorState.objects.filter(pk__in=list(wanted)).values_list(
                "pk", "snapshot"
            )
        }

    def _snapshot(self, key: tuple[int, str, str]) -> dict[str, Any]:
        text = getattr(self, "_snapshots", {}).get(key)
        if text is None:  # not preloaded: read it alone
            text = DetectorState.objects.values_list("snapshot", flat=True).get(
                pk=self.states[key].pk
            )
        return orjson.loads(text) if text else {}

    def monitor(
        self, key: tuple[int, str, str], *, replay: datetime | None = None
    ) -> tuple[Monitor, datetime | None]:
        """The series' monitor, and where to replay from (None: it is current)."""
        self.touched.add(key)
        if key in self.monitors:
            return self.monitors[key], None
        state = self.states[key]
        campaign = self.campaigns[key[0]]
        configs = series.configs(campaign, key)
        responses = self.responses.of(campaign.brand_id)
        monitor = MONITORS.take(key, state.revision)
        replay_from = None
        if monitor is None:
            monitor = Monitor.restore(self._snapshot(key), configs, responses)
            replay_from = replay
        self.monitors[key] = monitor
        return monitor, replay_from

    def save(self, flagged_series: set[tuple[int, str, str]]) -> None:
        """Write what changed: the clock and revision always, the snapshot when it
        matters (a transition, a variant's small state, or every ``PERSIST_EVERY``)."""
        rows = []
        for key in self.touched:
            state = self.states[key]
            monitor = self.monitors.get(key)
            state.revision = secrets.randbits(62)
            persist = None
            if monitor is not None:
                state.idle = monitor.idle
                due = (
                    key[2]
                    or key in flagged_series
                    or state.snapshot_as_of is None
                    or (
                        state.last_bucket
                        and state.last_bucket - state.snapshot_as_of >= PERSIST_EVERY
                    )
                )
                if due:
                    persist = orjson.dumps(monitor.snapshot()).decode()
                    state.snapshot = persist
                    state.snapshot_as_of = state.last_bucket if not key[2] else None
            rows.append((state, persist))
        _write_states(rows)
        published = {key: (self.states[key].revision, m) for key, m in self.monitors.items()}
        # Only a committed state may be reused: on rollback, nothing is published.
        transaction.on_commit(lambda: MONITORS.publish(published))


class _MonitorCache:
    """This process's monitors, by series, each with the revision it is current at.
    Taking one removes it (the batch mutates it); it comes back only after commit."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, str, str], tuple[int, Monitor]] = OrderedDict()

    def holds(self, key: tuple[int, str, str], revision: int) -> bool:
        item = self._items.get(key)
        return item is not None and item[0] == revision

    def take(self, key: tuple[int, str, str], revision: int) -> Monitor | None:
        item = self._items.pop(key, None)
        return item[1] if item is not None and item[0] == revision else None

    def publish(self, monitors: dict[tuple[int, str, str], tuple[int, Monitor]]) -> None:
        for key, item in monitors.items():
            self._items[key] = item
            self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


#: Per process; bounded (a warm channel series holds ~15 kB of baseline).
MONITORS = _MonitorCache(size=20_000)
#: Bucket-closing series write their snapshot at least this often; a process without
#: the state in memory replays the hours since from the samples.
PERSIST_EVERY = timedelta(hours=6)
_LINK_MIN_WEIGHT = 2


def _write_states(rows: list[tuple[DetectorState, str | None]]) -> None:
    if not rows:
        return
    if sql.postgresql():
        table = DetectorState._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS s SET last_bucket = v.last_bucket, revision = v.revision, "
                "idle = v.idle, updated_at = %s, "
                "snapshot = COALESCE(v.snapshot, s.snapshot), "
                "snapshot_as_of = CASE WHEN v.snapshot IS NULL THEN s.snapshot_as_of "
                "ELSE v.snapshot_as_of END "
                "FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], %s::bool[], "
                "%s::text[], %s::timestamptz[]) "
                "AS v(id, last_bucket, revision, idle, snapshot, snapshot_as_of) WHERE s.id = v.id",
                [
                    timezone.now(),
                    [state.pk for state, _ in rows],
                    [state.last_bucket for state, _ in rows],
                    [state.revision for state, _ in rows],
                    [state.idle for state, _ in rows],
                    [snapshot for _, snapshot in rows],
                    [state.snapshot_as_of for state, _ in rows],
                ],
            )
        return
    persisted = [state for state, snapshot in rows if snapshot is not None]
    clocks = [state for state, snapshot in rows if snapshot is None]
    if persisted:
        DetectorState.objects.bulk_update(
            persisted, ["last_bucket", "revision", "idle", "snapshot", "snapshot_as_of"]
        )
    if clocks:  # their snapshot was never read (deferred): leave it alone
        DetectorState.objects.bulk_update(clocks, ["last_bucket", "revision", "idle"])


def _lock_states(keys: Iterable[tuple[int, str, str]]) -> dict[tuple[int, str, str], DetectorState]:
    """The series' state rows, locked (created first where missing); without their
    snapshots, which are read only for series this process does not hold."""
    keys = set(keys)
    if not keys:
        return {}
    campaign_ids = {c for c, _, _ in keys}

    def locked() -> dict[tuple[int, str, str], DetectorState]:
        rows = (
            DetectorState.objects.select_for_update()
            .filter(campaign_id__in=campaign_ids)
            .defer("snapshot")
            .order_by("pk")
        )
        return {
            k: row for row in rows if (k := (row.campaign_id, row.channel, row.variant)) in keys
        }

    states = locked()
    missing = keys - set(states)
    if missing:
        DetectorState.objects.bulk_create(
            [DetectorState(campaign_id=c, channel=ch, variant=v) for c, ch, v in missing],
            ignore_conflicts=True,
        )
        states = locked()
    return states


# --- What a transition does --------------------------------------------------------------


def flag_apply(
    *, campaign: Campaign, channel: str, variant: str, flagged: Flagged, now: datetime
) -> int | None:
    """Carry one detector transition into the flag it is about (one incident, one flag):
    pending opens it, firing fires it and runs its response (unless silenced), clearing
    before firing withdraws it, resolved resolves it."""
    t = flagged.transition
    surface = {"channel": channel, "variant": variant}
    open_flag = AnomalyFlag.objects.filter(
        campaign=campaign,
        kind=flagged.kind,
        state__in=[FlagState.PENDING, FlagState.FIRING],
        **surface,
    ).first()
    if t.to_state in (State.PENDING, State.FIRING):
        flag = anomaly_flag_raise(
            campaign_id=campaign.pk,
            kind=flagged.kind,
            explanation=t.explanation[:300],
            response=flagged.response,
            actor=WATCHER,
            observed=_decimal(t.observed),
            limit=_decimal(t.limit),
            expected=(_decimal(t.expected_low), _decimal(t.expected_high)),
            bad_since=t.since,
            state=FlagState(t.to_state.value),
            **surface,
        )
        if t.to_state == State.FIRING and not flag.response_taken:
            from .responses import flag_respond

            flag_respond(flag=flag, now=now)
        return flag.pk
    if open_flag is None:
        return None
    note = (
        "Cleared before it fired."
        if t.from_state == State.PENDING
        else t.explanation[:300] or "Back within its limits."
    )
    anomaly_flag_resolve(flag_id=open_flag.pk, actor=WATCHER, note=note)
    return open_flag.pk


def matching_silence(flag: AnomalyFlag, *, at: datetime) -> Silence | None:
    """The silence (if any) covering this flag now: same brand, its campaign or all,
    its kind or all kinds, its channel or all channels, the window open."""
    candidates = Silence.objects.filter(
        brand_id=flag.campaign.brand_id,
        starts_at__lte=at,
        ends_at__gt=at,
        ended_early_at__isnull=True,
    ).filter(Q(campaign__isnull=True) | Q(campaign_id=flag.campaign_id))
    for silence in candidates.order_by("ends_at"):
        if silence.kinds and flag.kind not in silence.kinds:
            continue
        if silence.channel and silence.channel != flag.channel:
            continue
        return silence
    return None


def _decimal(value: float | None) -> Decimal | None:
    if value is None or not math.isfinite(value):
        return None
    return Decimal(str(round(value, 4)))
