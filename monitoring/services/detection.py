"""The performance agent's watch: the detectors (``campaigns.domain.anomalies``) run over
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
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from approvals.domain.audit import Actor
from campaigns.domain.anomalies import (
    AUDIENCE_FATIGUE,
    BROKEN_LINK,
    CONVERSION_DROP,
    CPA_ABOVE_LIMIT,
    CPM_SPIKE,
    PACING_DRIFT,
    Flagged,
    Monitor,
    State,
    detectors_for,
    responses_for,
)
from campaigns.domain.budget import planned_spend
from campaigns.domain.metrics import Bucket
from campaigns.domain.phases import Phase
from campaigns.models import AnomalyFlag, Campaign, FlagState, PerformanceSample

from ..domain.telemetry import TelemetryRow
from ..models import BreakerState, CircuitBreaker, DetectorState, MonitoringSettings, Silence

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
#: The performance agent is who raises flags and carries out their responses.
WATCHER = Actor.for_agent("performance")
#: Phases whose delivery is judged; other hours are skipped.
DELIVERING = (Phase.EXECUTION, Phase.MONITORING)

LEVEL_KINDS = {
    "campaign": (CPA_ABOVE_LIMIT, PACING_DRIFT),
    "channel": (CPM_SPIKE, CONVERSION_DROP, AUDIENCE_FATIGUE),
    "variant": (BROKEN_LINK,),
}
_SUMS = (
    "impressions",
    "clicks",
    "conversions",
    "spend",
    "reach",
    "leads",
    "qualified_leads",
    "link_checks",
    "link_failures",
)


def _backfill() -> timedelta:
    """How far back a series with no state (or a long gap) starts: the adaptive
    baselines need a week; more would only cost time."""
    return timedelta(hours=settings.CONTROLTOWER_DETECTION_BACKFILL_HOURS)


def level_of(channel: str, variant: str) -> str:
    if not channel:
        return "campaign"
    return "variant" if variant else "channel"


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
    keys = {(cid, channel, "") for cid, channel in closes} | {
        (r.campaign_id, r.channel, r.variant) for r in links
    }
    states = _lock_states(keys)
    paused = _paused_surfaces(campaign_ids)
    monitors: dict[tuple[int, str, str], Monitor] = {}
    changed: list[tuple[tuple[int, str, str], Flagged]] = []

    # Closed hours of campaign and channel series, in order.
    spans = {}
    for (cid, channel), until in closes.items():
        state = states[(cid, channel, "")]
        start = state.last_bucket + HOUR if state.last_bucket else None
        spans[(cid, channel)] = (start, until)
    samples, first_hours = _samples(spans)
    for (cid, channel), (start, until) in spans.items():
        key = (cid, channel, "")
        campaign = campaigns.get(cid)
        if campaign is None:
            continue
        start = start or first_hours.get((cid, channel)) or until
        start = max(start, until - _backfill())
        if start >= until:
            continue
        monitor = monitors[key] = _monitor(campaign, key, states[key])
        delivering = campaign.phase in DELIVERING
        hour = start
        while hour < until:
            if delivering and not (channel and _is_paused(paused, cid, channel, "")):
                bucket = _bucket(campaign, channel, hour, samples)
                if bucket is None and not channel:
                    # The campaign delivered nothing this hour: pacing sees the shortfall.
                    bucket = Bucket(planned_spend=_planned_in(campaign, hour))
                if bucket is not None:
                    changed.extend((key, f) for f in monitor.observe(hour, bucket))
            hour += HOUR
        states[key].last_bucket = until - HOUR

    # Link checks, each as it arrived.
    for row in sorted(links, key=lambda r: r.occurred_at):
        key = (row.campaign_id, row.channel, row.variant)
        campaign = campaigns.get(row.campaign_id)
        if campaign is None or campaign.phase not in DELIVERING:
            continue
        if _is_paused(paused, row.campaign_id, row.channel, row.variant):
            continue
        monitor = monitors.get(key) or monitors.setdefault(
            key, _monitor(campaign, key, states[key])
        )
        check = Bucket(link_checks=row.link_checks, link_failures=row.link_failures)
        changed.extend((key, flagged) for flagged in monitor.observe(row.occurred_at, check))

    for key, monitor in monitors.items():
        states[key].snapshot = monitor.snapshot()
    DetectorState.objects.bulk_update(list(states.values()), ["snapshot", "last_bucket"])

    flag_ids = []
    for (cid, channel, variant), flagged in changed:
        flag_id = flag_apply(
            campaign=campaigns[cid], channel=channel, variant=variant, flagged=flagged, now=now
        )
        if flag_id is not None:
            flag_ids.append(flag_id)
    return flag_ids


def _lock_states(keys: Iterable[tuple[int, str, str]]) -> dict[tuple[int, str, str], DetectorState]:
    keys = set(keys)
    DetectorState.objects.bulk_create(
        [DetectorState(campaign_id=c, channel=ch, variant=v) for c, ch, v in keys],
        ignore_conflicts=True,
    )
    rows = (
        DetectorState.objects.select_for_update()
        .filter(campaign_id__in={c for c, _, _ in keys})
        .order_by("pk")
    )
    return {
        key: row for row in rows if (key := (row.campaign_id, row.channel, row.variant)) in keys
    }


def _paused_surfaces(campaign_ids: Iterable[int]) -> set[tuple[int, str, str]]:
    """Open circuit breakers as (campaign, channel, variant); a blank variant is the
    whole channel."""
    return set(
        CircuitBreaker.objects.filter(
            campaign_id__in=campaign_ids, state=BreakerState.OPEN
        ).values_list("campaign_id", "channel", "variant")
    )


def _is_paused(paused: set[tuple[int, str, str]], cid: int, channel: str, variant: str) -> bool:
    return (cid, channel, "") in paused or (variant != "" and (cid, channel, variant) in paused)


def _samples(
    spans: dict[tuple[int, str], tuple[datetime | None, datetime]],
) -> tuple[dict[tuple[int, str, datetime], Bucket], dict[tuple[int, str], datetime]]:
    """The hours the spans need, per campaign and channel (one query), and where each
    series' data begins (for a series judged for the first time)."""
    if not spans:
        return {}, {}
    campaign_ids = {cid for cid, _ in spans}
    until = max(u for _, u in spans.values())
    since = min((s or u) for s, u in spans.values()) - _backfill()
    rows = (
        PerformanceSample.objects.filter(
            campaign_id__in=campaign_ids, bucket_start__gte=since, bucket_start__lt=until
        )
        .values("campaign_id", "channel", "bucket_start")
        .annotate(**{f"sum_{name}": Sum(name) for name in _SUMS})
        .order_by()
    )
    samples: dict[tuple[int, str, datetime], dict[str, Any]] = {}
    whole: dict[tuple[int, datetime], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(_SUMS, 0))
    first: dict[tuple[int, str], datetime] = {}
    for row in rows:
        cid, channel, hour = row["campaign_id"], row["channel"], row["bucket_start"]
        sums = {name: row[f"sum_{name}"] or 0 for name in _SUMS}
        samples[(cid, channel, hour)] = sums
        for name in _SUMS:
            whole[(cid, hour)][name] += sums[name]
        for key in ((cid, channel), (cid, "")):
            if key not in first or hour < first[key]:
                first[key] = hour
    buckets = {
        (cid, channel, hour): _as_bucket(sums) for (cid, channel, hour), sums in samples.items()
    }
    buckets.update({(cid, "", hour): _as_bucket(sums) for (cid, hour), sums in whole.items()})
    return buckets, first


def _as_bucket(sums: dict[str, Any], planned: float | None = None) -> Bucket:
    return Bucket(
        impressions=int(sums["impressions"]),
        clicks=int(sums["clicks"]),
        conversions=int(sums["conversions"]),
        spend=float(sums["spend"]),
        reach=int(sums["reach"]) or None,
        leads=int(sums["leads"]),
        qualified_leads=int(sums["qualified_leads"]),
        link_checks=int(sums["link_checks"]),
        link_failures=int(sums["link_failures"]),
        planned_spend=planned,
    )


def _bucket(
    campaign: Campaign,
    channel: str,
    hour: datetime,
    samples: dict[tuple[int, str, datetime], Bucket],
) -> Bucket | None:
    bucket = samples.get((campaign.pk, channel, hour))
    if channel:
        return bucket
    planned = _planned_in(campaign, hour)
    if bucket is None:
        return None
    return replace(bucket, planned_spend=planned)


def _planned_in(campaign: Campaign, hour: datetime) -> float | None:
    """What the straight-line plan allots to this hour (launch to the deadline's end)."""
    if campaign.launched_at is None:
        return None
    end = timezone.make_aware(datetime.combine(campaign.brief.deadline, time.max))
    total = campaign.budget_total
    start = campaign.launched_at
    return float(
        planned_spend(total, start, end, hour + HOUR) - planned_spend(total, start, end, hour)
    )


def _monitor(campaign: Campaign, key: tuple[int, str, str], state: DetectorState) -> Monitor:
    level = level_of(key[1], key[2])
    brief = campaign.brief
    configs = {}
    for kind in LEVEL_KINDS[level]:
        if kind == CPA_ABOVE_LIMIT:
            limit = (
                float(brief.success_target)
                if brief.success_metric == "cpa" and brief.success_target
                else None
            )
            configs[kind] = detectors_for(kind, control_limit=limit)
        elif kind == PACING_DRIFT:
            configs[kind] = detectors_for(kind, pacing_tolerance_pct=brief.sla_pacing_tolerance_pct)
        else:
            configs[kind] = detectors_for(kind)
    return Monitor.restore(state.snapshot or {}, configs, _responses(campaign.brand_id))


def _responses(brand_id: int) -> dict[str, str]:
    overrides = (
        MonitoringSettings.objects.filter(brand_id=brand_id)
        .values_list("flag_responses", flat=True)
        .first()
    )
    try:
        return responses_for(overrides or {})
    except ValueError:
        logger.warning("Brand %s has invalid flag responses; using the defaults", brand_id)
        return responses_for({})


# --- What a transition does --------------------------------------------------------------


def flag_apply(
    *, campaign: Campaign, channel: str, variant: str, flagged: Flagged, now: datetime
) -> int | None:
    """Carry one detector transition into the flag it is about (one incident, one flag):
    pending opens it, firing fires it and runs its response (unless silenced), clearing
    before firing withdraws it, resolved resolves it."""
    from campaigns import services as campaigns_services

    t = flagged.transition
    surface = {"channel": channel, "variant": variant}
    open_flag = AnomalyFlag.objects.filter(
        campaign=campaign,
        kind=flagged.kind,
        state__in=[FlagState.PENDING, FlagState.FIRING],
        **surface,
    ).first()
    if t.to_state in (State.PENDING, State.FIRING):
        flag = campaigns_services.anomaly_flag_raise(
            campaign_id=campaign.pk,
            kind=flagged.kind,
            explanation=t.explanation[:300],
            response=flagged.response,
            actor=WATCHER,
            observed=_decimal(t.observed),
            limit=_decimal(t.limit),
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
    campaigns_services.anomaly_flag_resolve(flag_id=open_flag.pk, actor=WATCHER, note=note)
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
