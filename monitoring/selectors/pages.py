"""Reads of monitoring: a campaign's flags, paused surfaces, escalations and silences;
a person's escalations and notifications. Callers decide who may see the campaign."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from campaigns.domain.metrics import METRICS, Direction, Metric, MetricSpec, format_value
from campaigns.domain.performance import AnomalyMarker, BandPoint
from campaigns.models import Campaign
from campaigns.selectors import campaigns_for_user
from governance import policies

from ..domain.anomalies import (
    BacktestPoint,
    DetectorConfig,
    Observation,
    backtest,
    detector_for_metric,
)
from ..domain.escalation import TIER_LABELS, Reason, chain_from_json
from ..models import (
    OPEN_FLAG_STATES,
    UNRESOLVED,
    AnomalyFlag,
    BreakerState,
    CircuitBreaker,
    Escalation,
    EscalationStatus,
    Notification,
    Silence,
    SlaEvaluation,
    SlaKind,
    TelemetryImport,
    TelemetryImportStatus,
)
from .series import campaign_hours, live_detector


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

    from ..models import SandboxCursor

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


def campaign_open_flags(campaign: Campaign) -> QuerySet[AnomalyFlag]:
    return AnomalyFlag.objects.filter(campaign=campaign, state__in=OPEN_FLAG_STATES).order_by(
        "-opened_at"
    )


def campaign_anomaly_markers(campaign: Campaign, *, limit: int = 50) -> list[AnomalyMarker]:
    """Where the campaign's anomaly flags opened (resolved ones too), oldest first."""
    flags = AnomalyFlag.objects.filter(campaign=campaign).order_by("-opened_at")[:limit]
    return [
        AnomalyMarker(timezone.localtime(f.opened_at), f.get_kind_display(), f.explanation)
        for f in reversed(flags)
    ]


def campaign_latest_sla(campaign: Campaign) -> list[SlaEvaluation]:
    """The latest evaluation of each SLA, in the order the SLAs are declared."""
    latest = (
        SlaEvaluation.objects.filter(campaign=campaign)
        .annotate(
            recency=Window(
                RowNumber(),
                partition_by=[F("sla")],
                order_by=[F("evaluated_at").desc(), F("id").desc()],
            )
        )
        .filter(recency=1)
    )
    order = {kind.value: i for i, kind in enumerate(SlaKind)}
    return sorted(latest, key=lambda e: order.get(e.sla, len(order)))


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


# --- "How would the detector have done on my data?" ---------------------------------------

#: How much history a backtest replays: three months of hours is ~2,200 points, a few
#: milliseconds of detector, and more than any baseline window looks back.
BACKTEST_DAYS = 90


@dataclass(frozen=True)
class CampaignBacktest:
    """The watch's detector for one metric replayed over the campaign's own hourly
    history: each judged point with the band the detector expected it in, and where an
    incident would have started firing. Times are local (as the charts draw them)."""

    metric: str
    label: str  # for an axis: "CPC (USD)", "CTR (%)"
    short_label: str  # in a sentence: "CPC"
    unit: str
    #: The fixed limit on the bad side, drawn as a line (None: adaptive, or either side).
    control_limit: float | None
    points: list[BacktestPoint]
    hours: int  # hours of history replayed
    hours_with_metric: int  # of which carried the metric (CPC needs clicks and spend)
    #: Roughly how many more hours the detector needs before it judges (0: it judges).
    hours_to_judge: int
    #: How the detector judges, in words, for the person reading the chart.
    method: str

    @property
    def fired(self) -> list[BacktestPoint]:
        return [p for p in self.points if p.fired]

    @property
    def band(self) -> list[BandPoint]:
        return [BandPoint(p.at, p.low, p.high) for p in self.points]


def campaign_backtest(
    campaign: Campaign, metric: str, *, control_limit: float | None = None
) -> CampaignBacktest:
    """Run the live detector for ``metric`` (the one the watch runs on this campaign, or
    the metric's detector with ``control_limit`` when one is given) over the campaign's
    hourly delivery, summed over its channels. One query.

    TRICKY: the watch judges CPM, CPC and CVR per channel; here they are judged on the
    campaign as a whole, like the chart that shows them. CPA and pacing are judged on the
    whole campaign by the watch too, so there the backtest is exactly what it saw."""
    spec = METRICS[Metric(metric)]
    config = (
        live_detector(campaign, spec.metric)
        if control_limit is None
        else detector_for_metric(spec.metric, control_limit=control_limit)
    )
    # The hour under way is not closed yet: the watch has not judged it either.
    until = timezone.now().replace(minute=0, second=0, microsecond=0)
    hours = campaign_hours(campaign, since=until - timedelta(days=BACKTEST_DAYS), until=until)
    observations = [
        found
        for at, bucket in hours
        if (found := Observation.of(spec.metric, timezone.localtime(at), bucket)) is not None
    ]
    points = backtest(config, observations)
    return CampaignBacktest(
        metric=spec.metric.value,
        label=_axis_label(spec, currency=campaign.brand.currency),
        short_label=spec.label,
        unit=spec.unit,
        control_limit=(
            config.control_limit if config.direction is not Direction.EITHER_IS_BAD else None
        ),
        points=points,
        hours=len(hours),
        hours_with_metric=len(observations),
        hours_to_judge=_hours_to_judge(config, points, observed=len(observations)),
        method=_method(config, spec),
    )


def campaign_expected_band(campaign: Campaign, metric: str) -> list[BandPoint]:
    """The band the watch's detector expected ``metric`` in at each judged hour, for the
    campaign's performance chart; none for what no detector watches (conversions)."""
    if metric not in METRICS:
        return []
    return campaign_backtest(campaign, metric).band


def _axis_label(spec: MetricSpec, *, currency: str) -> str:
    return {
        "currency": f"{spec.label} ({currency})",
        "percent": f"{spec.label} (%)",
        "signed_percent": f"{spec.label} (% against plan)",
    }.get(spec.unit, spec.label)


#: Metrics the watch judges per channel (``detection.LEVEL_KINDS``), summed here.
_PER_CHANNEL = {Metric.CPM, Metric.CPC, Metric.CVR}


def _method(config: DetectorConfig, spec: MetricSpec) -> str:
    """How the detector judges, in a marketer's words: what one point is, when it is
    bad, when that becomes a flag."""
    volume = spec.volume_label
    if config.smooth_points > 1 and config.smooth_weight:
        point = f"each hour judges the latest hours holding {config.smooth_weight:,.0f} {volume}"
    elif config.smooth_points > 1:
        point = f"each hour judges the latest {config.smooth_points} hours together"
    elif config.min_weight:
        point = f"hours are pooled until they hold {config.min_weight:,.0f} {volume}"
    else:
        point = "each hour is judged on its own"
    rules = []
    if config.direction is Direction.EITHER_IS_BAD and config.control_limit is not None:
        rules.append(f"more than {config.control_limit:g} % off the plan, either way")
    elif config.control_limit is not None:
        side = "below" if config.direction is Direction.DOWN_IS_BAD else "above"
        rules.append(f"{side} the control limit {format_value(spec.unit, config.control_limit)}")
    if config.baseline_points:
        days = round(config.baseline_points * config.bucket / timedelta(days=1))
        rules.append(f"outside its usual range (the median of the past {days} days ± its swings)")
    rule = " or ".join(rules) or "outside the shaded band"
    bad = "1 bad point" if config.pending_for == 1 else f"{config.pending_for} bad points in a row"
    learns = f"after {config.min_samples} such points to learn from, " if config.min_samples else ""
    text = f"How it judges: {point}; {learns}a point is bad {rule}; it flags after {bad}."
    if spec.metric in _PER_CHANNEL:
        text += f" The live monitor watches {spec.label} per channel; this replays them summed."
    return text


def _hours_to_judge(config: DetectorConfig, points: list[BacktestPoint], *, observed: int) -> int:
    """0 once the detector has judged a point; else about how many more hours of history
    it needs: the points still missing (it judges after ``min_samples``), at the hours a
    point has taken so far (pooled points take several)."""
    if any(p.bad or p.low is not None or p.high is not None for p in points):
        return 0
    missing = config.min_samples + 1 - len(points)
    per_point = observed / len(points) if points else 1.0
    return max(1, math.ceil(missing * per_point))


# --- What a person may act on (the pages' buttons) -------------------------------------


def escalations_visible_to(user: Any) -> QuerySet[Escalation]:
    """The escalations of the campaigns ``user`` may see (the service decides who acts)."""
    visible = campaigns_for_user(user).values("pk")
    return Escalation.objects.filter(campaign__in=visible)


def breakers_visible_to(user: Any) -> QuerySet[CircuitBreaker]:
    """The circuit breakers of the campaigns ``user`` may see."""
    visible = campaigns_for_user(user).values("pk")
    return CircuitBreaker.objects.filter(campaign__in=visible)


def silences_visible_to(user: Any) -> QuerySet[Silence]:
    """The silences of the brands ``user`` may see."""
    return Silence.objects.filter(brand_id__in=policies.visible_brand_ids(user))


def pending_imports_of(user: Any, brands: list[Any]) -> QuerySet[TelemetryImport]:
    """``user``'s own uploads still waiting for confirmation, on ``brands`` only: someone
    else's upload does not exist for them."""
    return TelemetryImport.objects.filter(
        uploaded_by=user, brand__in=brands, status=TelemetryImportStatus.PENDING
    )


def agent_operations(*, brand_id: int, agent: str, slas: tuple[str, ...], since: Any) -> Any:
    """What an agent answers for in operations at a brand since ``since``: escalations its
    runs caused, breaches of its SLAs (``slas``), an SLA whose error budget it spent.
    Approvals' track records ask it (registered in ``monitoring.subscribers``)."""
    from approvals.selectors import Operations

    from ..models import Escalation, SlaEvaluation

    incidents = Escalation.objects.filter(
        campaign__brand_id=brand_id, agent_run__agent=agent, opened_at__gte=since
    ).count()
    evaluations = SlaEvaluation.objects.filter(
        campaign__brand_id=brand_id, sla__in=slas, evaluated_at__gte=since
    )
    return Operations(
        incidents=incidents,
        sla_breaches=evaluations.filter(status="breached").count(),
        error_budget_burned=evaluations.filter(error_budget__startswith="budget spent").exists(),
    )
