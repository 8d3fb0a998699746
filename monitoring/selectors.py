"""Reads of monitoring: a campaign's flags, paused surfaces, escalations and silences;
a person's escalations and notifications. Callers decide who may see the campaign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from approvals import policies
from campaigns.models import OPEN_FLAG_STATES, AnomalyFlag, Campaign

from .domain.escalation import TIER_LABELS, Reason, chain_from_json
from .models import (
    UNRESOLVED,
    BreakerState,
    CircuitBreaker,
    Escalation,
    EscalationStatus,
    Notification,
    Silence,
)


@dataclass(frozen=True)
class Delivery:
    """What a campaign spent, and how far its delivery had been reported when it had."""

    consumed: Decimal
    reported_until: datetime | None


def delivery_so_far(campaign_ids: list[int]) -> dict[int, Delivery]:
    """Each campaign's spend and how far its delivery has been reported — the sandbox
    market's cursor, else the end of the latest hour with telemetry — read in ONE
    statement. TRICKY: separate reads could straddle a delivery's commit and compare
    spend from before it with a plan up to after it: an underspend that never was."""
    from django.db.models import DateTimeField, ExpressionWrapper, Max, OuterRef, Subquery

    from campaigns.models import PerformanceSample

    from .models import SandboxCursor

    last_hour = (
        PerformanceSample.objects.filter(campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(last=Max("bucket_start"))
        .values("last")
    )
    cursor = SandboxCursor.objects.filter(campaign=OuterRef("pk")).values("delivered_until")
    rows = (
        Campaign.objects.filter(pk__in=campaign_ids)
        .annotate(
            last_hour_end=ExpressionWrapper(
                Subquery(last_hour) + timedelta(hours=1), output_field=DateTimeField()
            ),
            cursor=Subquery(cursor, output_field=DateTimeField()),
        )
        .values_list("pk", "budget_consumed", "cursor", "last_hour_end")
    )
    return {
        pk: Delivery(consumed=consumed, reported_until=cursor or last_hour_end)
        for pk, consumed, cursor, last_hour_end in rows
    }


def unread_count(user_id: int) -> int:
    return Notification.objects.filter(recipient_id=user_id, read_at__isnull=True).count()


def notifications_for(user: Any, *, limit: int = 100) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=user)
        .select_related("campaign")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class EscalationView:
    escalation: Escalation
    reason_label: str
    tier_label: str
    next_tier_label: str
    told: tuple[str, ...]

    @property
    def pk(self) -> int:
        return self.escalation.pk

    @property
    def unresolved(self) -> bool:
        return self.escalation.status in UNRESOLVED

    @property
    def is_open(self) -> bool:
        return self.escalation.status == EscalationStatus.OPEN


def escalation_view(escalation: Escalation) -> EscalationView:
    try:
        chain = chain_from_json(escalation.chain or None)
    except ValueError:
        chain = chain_from_json(None)
    level = min(escalation.level, len(chain) - 1)
    following = chain[level + 1].tier if level + 1 < len(chain) else ""
    told = tuple(
        escalation.notifications.order_by("recipient__username")
        .values_list("recipient__username", flat=True)
        .distinct()
    )
    return EscalationView(
        escalation=escalation,
        reason_label=_reason_label(escalation.reason),
        tier_label=TIER_LABELS.get(chain[level].tier, chain[level].tier),
        next_tier_label=TIER_LABELS.get(following, following),
        told=told,
    )


def _reason_label(reason: str) -> str:
    try:
        return Reason(reason).label
    except ValueError:
        return reason.replace("_", " ").capitalize()


def campaign_escalations(campaign: Campaign, *, limit: int = 20) -> list[EscalationView]:
    """Unresolved first, then the latest resolved ones."""
    rows = (
        Escalation.objects.filter(campaign=campaign)
        .select_related("acknowledged_by", "resolved_by")
        .order_by("resolved_at", "-opened_at")[:limit]
    )
    views = [escalation_view(e) for e in rows]
    return sorted(views, key=lambda v: (not v.unresolved, -v.escalation.opened_at.timestamp()))


def escalations_for_user(user: Any, *, include_resolved: bool = False) -> list[EscalationView]:
    rows = Escalation.objects.filter(campaign__brand_id__in=policies.visible_brand_ids(user))
    if not include_resolved:
        rows = rows.filter(status__in=UNRESOLVED)
    rows = rows.select_related("campaign", "acknowledged_by", "resolved_by").order_by(
        "status", "-opened_at"
    )[:200]
    return [escalation_view(e) for e in rows]


def campaign_flags(campaign: Campaign, *, resolved: int = 5) -> list[AnomalyFlag]:
    """Open flags (firing first), then the latest few resolved ones."""
    open_flags = list(
        AnomalyFlag.objects.filter(campaign=campaign, state__in=OPEN_FLAG_STATES).order_by(
            "-state", "-opened_at"
        )
    )
    recent = list(
        AnomalyFlag.objects.filter(campaign=campaign)
        .exclude(state__in=OPEN_FLAG_STATES)
        .order_by("-resolved_at")[:resolved]
    )
    return open_flags + recent


def campaign_breakers(campaign: Campaign) -> list[CircuitBreaker]:
    return list(
        CircuitBreaker.objects.filter(campaign=campaign)
        .select_related("closed_by")
        .order_by("state", "-opened_at")[:20]
    )


def open_breakers(campaign: Campaign) -> list[CircuitBreaker]:
    return [b for b in campaign_breakers(campaign) if b.state == BreakerState.OPEN]


def campaign_silences(campaign: Campaign, *, now: datetime | None = None) -> list[Silence]:
    """Silences that cover (or will cover) the campaign: its own and its brand's."""
    now = now or timezone.now()
    return list(
        Silence.objects.filter(brand_id=campaign.brand_id, ends_at__gt=now, ended_early_at=None)
        .filter(Q(campaign__isnull=True) | Q(campaign=campaign))
        .select_related("created_by", "campaign")
        .order_by("starts_at")
    )
