"""Every read of brands, briefs and campaigns that a person sees, scoped to what they may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.text import Truncator

from governance import policies
from governance.models import AuditEvent

from .domain.performance import (
    MetricSeries,
    Sample,
    SpendSeries,
    cumulative_spend,
    metric_series,
    planned_spend_line,
)
from .models import Brand, Brief, Campaign, CampaignHold, PerformanceSample


def brands_for_user(user: Any) -> QuerySet[Brand]:
    return policies.visible_brands(user)


def campaigns_for_user(user: Any) -> QuerySet[Campaign]:
    return Campaign.objects.filter(brand__in=policies.visible_brands(user)).select_related(
        "brand", "owner", "brief"
    )


def briefs_for_user(user: Any, *, templates: bool | None = None) -> QuerySet[Brief]:
    briefs = Brief.objects.filter(brand__in=policies.visible_brands(user)).select_related(
        "brand", "created_by"
    )
    if templates is not None:
        briefs = briefs.filter(is_template=templates)
    return briefs


def campaign_phase_history(campaign: Campaign) -> QuerySet[AuditEvent]:
    """Phase changes of one campaign, oldest first, from the audit trail, with who made
    each (the page names them)."""
    return (
        AuditEvent.objects.filter(campaign=campaign, action="campaign.phase_changed")
        .order_by("seq")
        .select_related("actor_user")
    )


def campaign_holds(campaign: Campaign) -> QuerySet[CampaignHold]:
    """The campaign's holds, resolved or not (the caller has checked it may see it)."""
    return campaign.holds.all()


# --- One campaign's page: charts, activity, approvals, flags, SLAs -----------------
# Each reader below is one query whatever the campaign's history, so the detail page
# costs the same for a day-old campaign and a year-old one.


def campaign_plan_end(campaign: Campaign) -> datetime:
    """The spend plan ends with the brief's deadline day (as ``budget.pace`` expects)."""
    return timezone.make_aware(datetime.combine(campaign.brief.deadline, time.max))


def campaign_spend_series(campaign: Campaign) -> SpendSeries:
    """Cumulative spend per bucket and the plan it is judged against: from the first
    delivery (or the launch, while nothing is delivered) to the deadline, day-shaped."""
    spends = [
        (timezone.localtime(at), spend)
        for at, spend in _per_bucket(campaign).values_list("bucket_start", "total_spend")
    ]
    actual = cumulative_spend(spends)
    begins = campaign.delivery_started_at or campaign.launched_at
    start = timezone.localtime(begins) if begins else None
    planned = planned_spend_line(
        total=campaign.budget_total,
        start=start,
        end=timezone.localtime(campaign_plan_end(campaign)),
        at=[p.at for p in actual],
    )
    return SpendSeries(actual=actual, planned=planned)


def campaign_metric_series(campaign: Campaign) -> MetricSeries:
    """The brief's success metric per bucket, with its control limit where one applies."""
    samples = [
        Sample(timezone.localtime(at), impressions, clicks, conversions, spend)
        for at, impressions, clicks, conversions, spend in _per_bucket(campaign).values_list(
            "bucket_start", "total_impressions", "total_clicks", "total_conversions", "total_spend"
        )
    ]
    return metric_series(
        samples,
        success_metric=campaign.brief.success_metric,
        success_target=campaign.brief.success_target,
        currency=campaign.brand.currency,
    )


def _per_bucket(campaign: Campaign):
    """The campaign's delivery per bucket, summed over its channels and variants."""
    return (
        PerformanceSample.objects.filter(campaign=campaign)
        .values("bucket_start")
        .annotate(
            total_impressions=Sum("impressions"),
            total_clicks=Sum("clicks"),
            total_conversions=Sum("conversions"),
            total_spend=Sum("spend"),
        )
        .order_by("bucket_start")
    )


@dataclass(frozen=True)
class ActivityItem:
    occurred_at: datetime
    actor_label: str
    is_agent: bool
    action: str
    summary: str


def campaign_recent_activity(campaign: Campaign, *, limit: int = 15) -> list[ActivityItem]:
    """The latest audit events of the campaign, newest first, each with a one-line summary."""
    events = AuditEvent.objects.filter(campaign=campaign).order_by("-seq")[:limit]
    return [
        ActivityItem(
            occurred_at=e.occurred_at,
            actor_label=e.actor_label,
            is_agent=bool(e.actor_agent),
            action=e.action,
            summary=_audit_summary(e.data),
        )
        for e in events
    ]


# The keys that say in words what happened; shown instead of the raw fields.
_HEADLINE_KEYS = ("summary", "explanation", "reason", "note")


def _audit_summary(data: dict[str, Any], *, chars: int = 140) -> str:
    if "from" in data and "to" in data:
        text = f"{data['from']} → {data['to']}"
        if data.get("reason"):
            text += f": {data['reason']}"
    elif headline := next((data[k] for k in _HEADLINE_KEYS if data.get(k)), None):
        text = str(headline)
    else:
        text = "; ".join(
            f"{key.replace('_', ' ')} {value}"
            for key, value in data.items()
            if value not in ("", None) and not isinstance(value, dict | list)
        )
    return Truncator(text).chars(chars)
