"""The watch's series and detectors, read: what each campaign's hours sum to (one query
for many series), what the straight-line plan allots to an hour, which surfaces are
paused, the detectors the brief configures and the responses the brand chose.

The live watch (``monitoring.services.detection``) and the backtest on the campaign page
(``monitoring.selectors.pages.campaign_backtest``) both read here, so a backtest cannot
judge differently from the live monitor."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from campaigns.domain.metrics import Bucket, Metric
from campaigns.models import Campaign, PerformanceSample

from ..domain.anomalies import (
    AUDIENCE_FATIGUE,
    BROKEN_LINK,
    CONVERSION_DROP,
    CPA_ABOVE_LIMIT,
    CPC_SPIKE,
    CPM_SPIKE,
    KIND_FOR_METRIC,
    PACING_DRIFT,
    DetectorConfig,
    detector_for_metric,
    detectors_for,
    responses_for,
)
from ..models import BreakerState, CircuitBreaker, MonitoringSettings

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)

LEVEL_KINDS = {
    "campaign": (CPA_ABOVE_LIMIT, PACING_DRIFT),
    "channel": (CPM_SPIKE, CPC_SPIKE, CONVERSION_DROP, AUDIENCE_FATIGUE),
    "variant": (BROKEN_LINK,),
}
SUMS = (
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


def backfill() -> timedelta:
    """How far back a series with no state (or a long gap) starts: the adaptive
    baselines need a week; more would only cost time."""
    return timedelta(hours=settings.CONTROLTOWER_DETECTION_BACKFILL_HOURS)


def level_of(channel: str, variant: str) -> str:
    if not channel:
        return "campaign"
    return "variant" if variant else "channel"


def configs(campaign: Campaign, key: tuple[int, str, str]) -> dict[str, Any]:
    return level_configs(campaign, level_of(key[1], key[2]))


def level_configs(campaign: Campaign, level: str) -> dict[str, Any]:
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
            configs[kind] = DEFAULT_CONFIGS[kind]
    return configs


DEFAULT_CONFIGS = {
    kind: detectors_for(kind)
    for kind in (CPM_SPIKE, CPC_SPIKE, CONVERSION_DROP, AUDIENCE_FATIGUE, BROKEN_LINK)
}


def live_detector(campaign: Campaign, metric: str) -> DetectorConfig:
    """The detector the watch runs on this campaign for ``metric``: the brief's CPA target,
    its pacing tolerance, the kind's defaults elsewhere — from ``configs``, so a backtest
    cannot judge differently from the live monitor. A metric no kind watches on its own
    (CTR, frequency, lead quality) gets its standard adaptive detector."""
    kind = KIND_FOR_METRIC.get(Metric(metric))
    level = next((level for level, kinds in LEVEL_KINDS.items() if kind in kinds), None)
    if level is None:
        return detector_for_metric(metric)
    config = level_configs(campaign, level)[kind]
    assert isinstance(config, DetectorConfig)  # only fatigue is composite, and it has no metric
    return config


def campaign_hours(
    campaign: Campaign, *, since: datetime, until: datetime
) -> list[tuple[datetime, Bucket]]:
    """The campaign's own series in [since, until), hour by hour, as ``_observe_hours``
    feeds it: from its first reported hour to its last, summed over channels, each hour
    carrying the plan's share — an hour without delivery between them carries the plan
    alone, so pacing sees the shortfall. Read with the watch's own query (``hourly_samples``)."""
    samples, first = hourly_samples({(campaign.pk, ""): (since, until)})
    start = first.get((campaign.pk, ""))
    if start is None:
        return []
    last = max(hour for _, channel, hour in samples if not channel)
    hours = []
    hour = start
    while hour <= last:
        bucket = hour_bucket(campaign, "", hour, samples)
        hours.append((hour, bucket or Bucket(planned_spend=planned_in(campaign, hour))))
        hour += HOUR
    return hours


def paused_surfaces(campaign_ids: Iterable[int]) -> set[tuple[int, str, str]]:
    """Open circuit breakers as (campaign, channel, variant); a blank variant is the
    whole channel."""
    return set(
        CircuitBreaker.objects.filter(
            campaign_id__in=campaign_ids, state=BreakerState.OPEN
        ).values_list("campaign_id", "channel", "variant")
    )


def is_paused(paused: set[tuple[int, str, str]], cid: int, channel: str, variant: str) -> bool:
    return (cid, channel, "") in paused or (variant != "" and (cid, channel, variant) in paused)


def hourly_samples(
    spans: dict[tuple[int, str], tuple[datetime | None, datetime]],
    *,
    since: datetime | None = None,
) -> tuple[dict[tuple[int, str, datetime], Bucket], dict[tuple[int, str], datetime]]:
    """The hours the spans need (and replays from ``since``), per campaign and channel,
    in one query; and where each series' data begins (for one judged the first time)."""
    if not spans:
        return {}, {}
    campaign_ids = {cid for cid, _ in spans}
    until = max(u for _, u in spans.values())
    starts = [start or end - backfill() for start, end in spans.values()]
    since = min([*starts, since] if since else starts)
    rows = (
        PerformanceSample.objects.filter(
            campaign_id__in=campaign_ids, bucket_start__gte=since, bucket_start__lt=until
        )
        .values("campaign_id", "channel", "bucket_start")
        .annotate(**{f"sum_{name}": Sum(name) for name in SUMS})
        .order_by()
    )
    samples: dict[tuple[int, str, datetime], dict[str, Any]] = {}
    whole: dict[tuple[int, datetime], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(SUMS, 0))
    first: dict[tuple[int, str], datetime] = {}
    for row in rows:
        cid, channel, hour = row["campaign_id"], row["channel"], row["bucket_start"]
        sums = {name: row[f"sum_{name}"] or 0 for name in SUMS}
        samples[(cid, channel, hour)] = sums
        for name in SUMS:
            whole[(cid, hour)][name] += sums[name]
        for key in ((cid, channel), (cid, "")):
            if key not in first or hour < first[key]:
                first[key] = hour
    buckets = {
        (cid, channel, hour): as_bucket(sums) for (cid, channel, hour), sums in samples.items()
    }
    buckets.update({(cid, "", hour): as_bucket(sums) for (cid, hour), sums in whole.items()})
    return buckets, first


def as_bucket(sums: dict[str, Any], planned: float | None = None) -> Bucket:
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


def hour_bucket(
    campaign: Campaign,
    channel: str,
    hour: datetime,
    samples: dict[tuple[int, str, datetime], Bucket],
) -> Bucket | None:
    bucket = samples.get((campaign.pk, channel, hour))
    if channel:
        return bucket
    planned = planned_in(campaign, hour)
    if bucket is None:
        return None
    return replace(bucket, planned_spend=planned)


def planned_in(campaign: Campaign, hour: datetime) -> float | None:
    """What the straight-line plan allots to this hour: its hourly rate, or the part of
    the hour inside the plan. The plan runs from the first delivery (``budget``: a launch
    the platform took hours to start is not underspending) — or from the launch while
    nothing is delivered, so a campaign that never delivers still drifts. Judged over a
    trailing day, the straight line is the day-shaped plan's daily total."""
    if campaign.launched_at is None:
        return None
    plan = getattr(campaign, "_hourly_plan", None)
    if plan is None:
        start = campaign.delivery_started_at or campaign.launched_at
        end = timezone.make_aware(datetime.combine(campaign.brief.deadline, time.max))
        seconds = max(1.0, (end - start).total_seconds())
        plan = campaign._hourly_plan = (start, end, float(campaign.budget_total) / seconds)
    start, end, per_second = plan
    inside = (min(hour + HOUR, end) - max(hour, start)).total_seconds()
    return max(0.0, inside) * per_second


def responses(brand_id: int) -> dict[str, str]:
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
