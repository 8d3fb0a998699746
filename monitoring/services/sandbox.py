"""The sandbox market at work: every beat tick it delivers each live campaign's
published variants for the time since the last tick, spends (through the same
hard-capped service as any spend), and reports the delivery as telemetry through the
same ingestion as the API — so the detectors, responses and escalations run on it
exactly as on a real platform's data. Injected faults make it misbehave.

One tick for one campaign, in one transaction::

    cursor (delivered until t0) ─▶ the market's buckets for [t0, now) per variant line,
    minus paused surfaces ─▶ spend authorised (scaled down to what the budget and
    today's cap leave) ─▶ telemetry_ingest(events with ids from the span) ─▶ cursor = now

A crash anywhere rolls the whole tick back; the next tick delivers the same span again
(the event ids make a repeat harmless).
"""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents.connectors.market import (
    Fault,
    HourlyBucket,
    LineSpec,
    MarketSpec,
    MarketState,
    next_buckets,
)
from agents.selectors import variant_label
from campaigns.domain.briefs import CHANNELS
from campaigns.domain.phases import Phase
from campaigns.models import Campaign, ContentStatus, ContentVariant
from campaigns.services import campaign_record_spend, spent_today
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from ..models import BreakerState, CircuitBreaker, SandboxCursor, SandboxFault, TelemetrySource
from .telemetry import telemetry_ingest

logger = logging.getLogger(__name__)

DISTRIBUTION = Actor.for_agent("distribution")
#: A tick delivers at least this much time (shorter ticks wait for the next one)…
MIN_SPAN = timedelta(seconds=30)
#: …and at most this much: after a long stop the market resumes from now, not the past.
MAX_SPAN = timedelta(hours=2)
#: Each channel's economics in the sandbox (daily budgets are set from the campaign).
CHANNEL_ECONOMICS: dict[str, dict[str, float]] = {
    "social_ads": {"cpm": 9.10, "ctr": 0.010, "cvr": 0.045},
    "search_ads": {"cpm": 30.0, "ctr": 0.040, "cvr": 0.050},
    "display": {"cpm": 3.20, "ctr": 0.0025, "cvr": 0.030},
    "email": {"cpm": 2.50, "ctr": 0.030, "cvr": 0.030},
    "landing_page": {"cpm": 6.00, "ctr": 0.060, "cvr": 0.040},
    "social_organic": {"cpm": 1.00, "ctr": 0.008, "cvr": 0.030},
}
FAULT_KINDS = ("cpm_spike", "conversion_drop", "broken_link", "audience_fatigue", "overspend")


def sandbox_deliver(*, now: datetime | None = None) -> int:
    """Beat's tick: deliver every live campaign with published content; how many."""
    if not settings.CONTROLTOWER_SANDBOX_MARKET:
        return 0
    now = now or timezone.now()
    delivered = 0
    live = Campaign.objects.filter(
        phase__in=[Phase.EXECUTION, Phase.MONITORING],
        content__status=ContentStatus.PUBLISHED,
        content__connector="sandbox market",
    ).distinct()
    for campaign_id in live.values_list("pk", flat=True):
        try:
            delivered += sandbox_deliver_campaign(campaign_id=campaign_id, now=now)
        except DomainError as exc:  # e.g. the budget is spent: nothing more to deliver
            logger.info("Sandbox: campaign %s not delivered: %s", campaign_id, exc)
    return delivered


def sandbox_deliver_campaign(*, campaign_id: int, now: datetime) -> int:
    """Deliver one campaign for the time since its cursor; 1 if anything was delivered."""
    with transaction.atomic():
        campaign = Campaign.objects.select_related("brief", "brand").get(pk=campaign_id)
        cursor, _ = SandboxCursor.objects.select_for_update().get_or_create(
            campaign=campaign, defaults={"delivered_until": now}
        )
        start = max(cursor.delivered_until, now - MAX_SPAN)
        span = now - start
        if span < MIN_SPAN:
            return 0
        spec = market_spec(campaign)
        if spec is None:
            cursor.delivered_until = now
            cursor.save(update_fields=["delivered_until"])
            return 0
        state = MarketState.restore(cursor.state) if cursor.state else MarketState.initial(spec)
        faults = _faults(campaign, start, now)
        delivered: list[HourlyBucket] = []
        # TRICKY: a span that crosses an hour (a slow tick, a catch-up after a stop) is
        # delivered hour by hour, so each hour's telemetry lands in its own hour.
        for piece_start, piece_end in _hour_pieces(start, now):
            rng = random.Random(f"sandbox:{campaign.pk}:{piece_start.isoformat()}")
            buckets, state = next_buckets(
                spec,
                state,
                timezone.localtime(piece_start),
                rng,
                faults,
                span=piece_end - piece_start,
            )
            delivered += buckets
        kept = _within_caps(campaign, _unpaused(campaign, delivered))
        # Each bucket's ``at`` is its piece's start: the event's time and id.
        events = [_event(campaign, b.at.astimezone(UTC), b) for b in kept]
        spend = sum((Decimal(str(b.spend)) for b in kept), Decimal("0"))
        if spend > 0:
            campaign_record_spend(campaign_id=campaign.pk, amount=spend, actor=DISTRIBUTION)
        if events:
            telemetry_ingest(
                brand_id=campaign.brand_id,
                items=events,
                source=TelemetrySource.SANDBOX,
                now=now,
            )
        cursor.delivered_until, cursor.state = now, state.snapshot()
        cursor.save(update_fields=["delivered_until", "state"])
    return 1


def _hour_pieces(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at each full hour: one piece per hour it touches."""
    pieces = []
    at = start
    while at < end:
        next_hour = at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        pieces.append((at, min(end, next_hour)))
        at = min(end, next_hour)
    return pieces


def market_spec(campaign: Campaign) -> MarketSpec | None:
    """The sandbox lines of a campaign: one per published variant. Each channel gets an
    even part of the straight-line daily budget, split among its variants by the
    channel's experiment (the shares the allocator last applied; even before any)."""
    from agents.selectors import channel_shares

    published = list(
        ContentVariant.objects.filter(campaign=campaign, status=ContentStatus.PUBLISHED)
        .order_by("pk")
        .values_list("pk", "channel")
    )
    if not published:
        return None
    launched = campaign.launched_at or timezone.now()
    days = max(1.0, (_deadline_end(campaign) - launched).total_seconds() / 86400)
    channels = sorted({channel for _, channel in published})
    per_channel = float(campaign.budget_total) / days / len(channels)
    lines = []
    for channel in channels:
        labels = [variant_label(pk) for pk, c in published if c == channel]
        shares = channel_shares(campaign, channel, labels)
        lines += [
            LineSpec(
                channel=channel,
                variant=label,
                daily_budget=per_channel * shares[label],
                **CHANNEL_ECONOMICS.get(channel, CHANNEL_ECONOMICS["display"]),
            )
            for label in labels
        ]
    return MarketSpec(lines=tuple(lines))


def fault_inject(
    *,
    campaign_id: int,
    kind: str,
    hours: float,
    user: Any | None = None,
    channel: str = "",
    variant: str = "",
    severity: float | None = None,
    starts_at: datetime | None = None,
) -> SandboxFault:
    """Make the sandbox market misbehave on a campaign (an admin's, or ``inject_fault``)."""
    from governance import policies

    if user is not None and not policies.can_configure_monitoring(user):
        raise NotPermitted("Only admins inject faults into the sandbox market.")
    problems = []
    if kind not in FAULT_KINDS:
        problems.append(f"Unknown fault “{kind}”; one of {', '.join(FAULT_KINDS)}.")
    if not 0 < hours <= 24 * 14:
        problems.append("A fault lasts more than 0 and at most 336 hours.")
    if channel and channel not in CHANNELS:
        problems.append(f"“{channel}” is not a channel.")
    if variant and not channel:
        problems.append("Name the variant's channel too.")
    if severity is not None and not 0 < severity <= 10:
        problems.append("Severity is a positive factor, at most 10.")
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        problems.append(f"There is no campaign {campaign_id}.")
    if problems:
        raise DomainError(" ".join(problems))
    starts_at = starts_at or timezone.now()
    with transaction.atomic():
        fault = SandboxFault.objects.create(
            campaign=campaign,
            kind=kind,
            channel=channel,
            variant=variant,
            severity=severity if severity is not None else _default_severity(kind),
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=hours),
            created_by=user,
        )
        audit_record(
            actor=Actor.for_user(user) if user else Actor.system("inject_fault"),
            action="sandbox.fault_injected",
            target=fault,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={
                "kind": kind,
                "channel": channel,
                "variant": variant,
                "severity": fault.severity,
                "hours": hours,
            },
        )
    return fault


def _default_severity(kind: str) -> float:
    from agents.connectors.market import DEFAULT_SEVERITY

    return DEFAULT_SEVERITY[kind]


def _faults(campaign: Campaign, start: datetime, end: datetime) -> list[Fault]:
    return [
        Fault(
            kind=f.kind,
            starts_at=timezone.localtime(f.starts_at),
            duration_hours=(f.ends_at - f.starts_at).total_seconds() / 3600,
            channel=f.channel or None,
            variant=f.variant or None,
            severity=f.severity,
        )
        for f in SandboxFault.objects.filter(
            campaign=campaign, starts_at__lt=end, ends_at__gt=start
        )
    ]


def _unpaused(campaign: Campaign, buckets: list[HourlyBucket]) -> list[HourlyBucket]:
    paused = set(
        CircuitBreaker.objects.filter(campaign=campaign, state=BreakerState.OPEN).values_list(
            "channel", "variant"
        )
    )
    return [
        b for b in buckets if (b.channel, "") not in paused and (b.channel, b.variant) not in paused
    ]


def _within_caps(campaign: Campaign, buckets: list[HourlyBucket]) -> list[HourlyBucket]:
    """Scale the span's delivery down to what the budget and today's cap leave (the
    market stops buying when the money is gone; the caps are never crossed)."""
    total = sum(b.spend for b in buckets)
    if total <= 0:
        return buckets
    left = float(campaign.budget_total - campaign.budget_consumed)
    if campaign.daily_cap is not None:
        left = min(left, float(campaign.daily_cap - spent_today(campaign)))
    if left <= 0:
        return []
    if total <= left:
        return buckets
    share = left / total
    scaled = []
    for b in buckets:
        spend = float(Decimal(str(b.spend * share)).quantize(Decimal("0.01"), rounding=ROUND_DOWN))
        impressions = int(b.impressions * share)
        reach = min(impressions, int(b.reach * share))
        scaled.append(
            replace(
                b,
                spend=spend,
                impressions=impressions,
                clicks=min(impressions, int(b.clicks * share)),
                conversions=int(b.conversions * share),
                reach=reach,
                leads=int(b.leads * share),
                qualified_leads=min(int(b.leads * share), int(b.qualified_leads * share)),
                complaints=int(b.complaints * share),
            )
        )
    return scaled


def _event(campaign: Campaign, start: datetime, bucket: HourlyBucket) -> dict[str, Any]:
    return {
        "event_id": f"sbx-{campaign.pk}-{bucket.channel}-{bucket.variant.lstrip('#')}-"
        f"{start:%Y%m%dT%H%M%S}",
        "campaign_id": campaign.pk,
        "channel": bucket.channel,
        "variant": bucket.variant,
        "occurred_at": start.isoformat(),
        "impressions": bucket.impressions,
        "clicks": min(bucket.clicks, bucket.impressions),
        "conversions": bucket.conversions,
        "spend": f"{bucket.spend:.2f}",
        "reach": min(bucket.reach, bucket.impressions),
        "leads": bucket.leads,
        "qualified_leads": min(bucket.qualified_leads, bucket.leads),
        "link_checks": bucket.link_checks,
        "link_failures": min(bucket.link_failures, bucket.link_checks),
        "complaints": bucket.complaints,
    }


def _deadline_end(campaign: Campaign) -> datetime:
    return timezone.make_aware(datetime.combine(campaign.brief.deadline, time.max))
