"""The tower's read model: one row per campaign a user may see, and the counts that need
attention. A fixed number of queries whatever the number of campaigns: rows for one page
only, flags prefetched for that page, counts aggregated in the database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any
from urllib.parse import urlencode

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from approvals import policies
from approvals.models import ApprovalRequest, ApprovalStatus
from campaigns.domain.budget import Pacing, pace
from campaigns.domain.phases import Phase
from campaigns.models import (
    AnomalyFlag,
    Campaign,
    EscalationState,
    FlagState,
    SlaStatus,
)

OPEN_FLAG_STATES = (FlagState.PENDING, FlagState.FIRING)

#: URL sort keys → database ordering. Anything else falls back to the default.
SORTS: dict[str, str] = {
    "name": "name",
    "brand": "brand__name",
    "phase": "phase",
    "owner": "owner__username",
    "budget": "consumed_ratio",
    "sla": "sla_rank",
    "approvals": "pending_approvals",
    "updated": "updated_at",
}
DEFAULT_SORT = "-updated"


@dataclass(frozen=True)
class TowerFilters:
    """What the tower shows, parsed from (and written back to) the URL, so views can be shared."""

    brand: str = ""
    phase: str = ""
    owner: str = ""
    attention: bool = False
    sort: str = DEFAULT_SORT
    page: int = 1

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> TowerFilters:
        sort = query.get("sort", DEFAULT_SORT)
        if sort.removeprefix("-") not in SORTS:
            sort = DEFAULT_SORT
        phase = query.get("phase", "")
        try:
            page = max(1, int(query.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            brand=query.get("brand", "")[:60],
            phase=phase if phase in set(Phase) else "",
            owner=query.get("owner", "")[:150],
            attention=query.get("attention") in {"1", "on", "true"},
            sort=sort,
            page=page,
        )

    def query(self, **changes: Any) -> str:
        """The query string of these filters with ``changes`` applied (page resets)."""
        merged = replace(self, **{"page": 1, **changes})
        params = {
            "brand": merged.brand,
            "phase": merged.phase,
            "owner": merged.owner,
            "attention": "1" if merged.attention else "",
            "sort": "" if merged.sort == DEFAULT_SORT else merged.sort,
            "page": "" if merged.page == 1 else str(merged.page),
        }
        return urlencode({k: v for k, v in params.items() if v})

    def sort_link(self, key: str) -> str:
        """Clicking a header sorts by it; clicking it again reverses."""
        return self.query(sort=f"-{key}" if self.sort == key else key)

    def aria_sort(self, key: str) -> str:
        if self.sort == key:
            return "ascending"
        if self.sort == f"-{key}":
            return "descending"
        return "none"


@dataclass(frozen=True)
class Column:
    label: str
    sort_key: str = ""
    numeric: bool = False
    href: str = ""
    aria_sort: str = "none"

    @property
    def sortable(self) -> bool:
        return bool(self.sort_key)


COLUMNS = [
    Column("Campaign", "name"),
    Column("Phase", "phase"),
    Column("Owner", "owner"),
    Column("Next action"),
    Column("Budget consumed", "budget", numeric=True),
    Column("Pacing"),
    Column("SLA", "sla"),
    Column("Anomaly flags"),
    Column("Escalation"),
    Column("Approvals", "approvals", numeric=True),
]


def tower_columns(filters: TowerFilters) -> list[Column]:
    """The table's headers, with links that sort by each sortable column."""
    return [
        replace(c, href=filters.sort_link(c.sort_key), aria_sort=filters.aria_sort(c.sort_key))
        if c.sortable
        else c
        for c in COLUMNS
    ]


@dataclass(frozen=True)
class TowerRow:
    campaign: Campaign
    pacing: Pacing
    open_flags: list[AnomalyFlag]
    pending_approvals: int

    @property
    def needs_attention(self) -> bool:
        c = self.campaign
        return (
            c.phase == Phase.ESCALATED
            or c.sla_status != SlaStatus.ON_TRACK
            or bool(self.open_flags)
            or self.pending_approvals > 0
        )


@dataclass(frozen=True)
class BrandSummary:
    brand_id: int
    escalated: int = 0
    at_risk: int = 0
    breached: int = 0
    flagged: int = 0
    awaiting_approval: int = 0


@dataclass(frozen=True)
class TowerSummary:
    brands: list[BrandSummary] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(b, name) for b in self.brands)

    @property
    def escalated(self) -> int:
        return self.total("escalated")

    @property
    def at_risk(self) -> int:
        return self.total("at_risk")

    @property
    def breached(self) -> int:
        return self.total("breached")

    @property
    def flagged(self) -> int:
        return self.total("flagged")

    @property
    def awaiting_approval(self) -> int:
        return self.total("awaiting_approval")


def _open_flags_exist() -> Exists:
    return Exists(
        AnomalyFlag.objects.filter(campaign=OuterRef("pk"), state__in=OPEN_FLAG_STATES)
    )


def _annotated(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    pending = (
        ApprovalRequest.objects.filter(campaign=OuterRef("pk"), status=ApprovalStatus.PENDING)
        .order_by()
        .values("campaign")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        campaigns.select_related("brand", "owner", "brief")
        .annotate(
            pending_approvals=Coalesce(Subquery(pending, output_field=IntegerField()), Value(0)),
            consumed_ratio=F("budget_consumed") / F("budget_total"),
            sla_rank=_sla_rank(),
            has_open_flags=_open_flags_exist(),
        )
        .prefetch_related(
            Prefetch(
                "anomaly_flags",
                queryset=AnomalyFlag.objects.filter(state__in=OPEN_FLAG_STATES).order_by("kind"),
                to_attr="open_flag_list",
            )
        )
    )


def _sla_rank():
    from django.db.models import Case, When

    return Case(
        When(sla_status=SlaStatus.BREACHED, then=Value(2)),
        When(sla_status=SlaStatus.AT_RISK, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def tower_campaigns(user: Any, filters: TowerFilters) -> QuerySet[Campaign]:
    """Campaigns the user may see, filtered and sorted as the URL says."""
    campaigns = _annotated(Campaign.objects.filter(brand__in=policies.visible_brands(user)))
    if filters.brand:
        campaigns = campaigns.filter(brand__slug=filters.brand)
    if filters.phase:
        campaigns = campaigns.filter(phase=filters.phase)
    if filters.owner:
        campaigns = campaigns.filter(owner__username=filters.owner)
    if filters.attention:
        campaigns = campaigns.filter(
            Q(phase=Phase.ESCALATED)
            | Q(escalation_state=EscalationState.OPEN)
            | ~Q(sla_status=SlaStatus.ON_TRACK)
            | Q(has_open_flags=True)
            | Q(pending_approvals__gt=0)
        )
    order = SORTS[filters.sort.removeprefix("-")]
    descending = filters.sort.startswith("-")
    return campaigns.order_by(f"-{order}" if descending else order, "-id")


def tower_rows(campaigns: Iterable[Campaign], *, now: datetime | None = None) -> list[TowerRow]:
    now = now or timezone.now()
    return [_row(c, now) for c in campaigns]


def _row(campaign: Campaign, now: datetime) -> TowerRow:
    end = timezone.make_aware(datetime.combine(campaign.brief.deadline, time.max))
    pacing = pace(
        total=campaign.budget_total,
        consumed=campaign.budget_consumed,
        start=campaign.launched_at,
        end=end,
        at=now,
        tolerance_pct=campaign.brief.sla_pacing_tolerance_pct,
    )
    return TowerRow(
        campaign=campaign,
        pacing=pacing,
        open_flags=getattr(campaign, "open_flag_list", []),
        pending_approvals=getattr(campaign, "pending_approvals", 0),
    )


def tower_row(campaign_id: int) -> TowerRow | None:
    """One campaign's row, exactly as the tower page renders it (for live pushes)."""
    campaign = _annotated(Campaign.objects.filter(pk=campaign_id)).first()
    return _row(campaign, timezone.now()) if campaign else None


def _brand_counts(campaigns: QuerySet[Campaign]) -> QuerySet:
    return (
        campaigns.order_by()
        .values("brand_id")
        .annotate(
            escalated=Count("pk", filter=Q(phase=Phase.ESCALATED)),
            at_risk=Count("pk", filter=Q(sla_status=SlaStatus.AT_RISK)),
            breached=Count("pk", filter=Q(sla_status=SlaStatus.BREACHED)),
            flagged=Count("pk", filter=Q(has_open_flags=True)),
        )
    )


def _summaries(brand_ids_query: Any, campaigns: QuerySet[Campaign]) -> list[BrandSummary]:
    counts = {
        row["brand_id"]: row
        for row in _brand_counts(campaigns.annotate(has_open_flags=_open_flags_exist()))
    }
    approvals = dict(
        ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, brand__in=brand_ids_query)
        .order_by()
        .values("brand_id")
        .annotate(n=Count("pk"))
        .values_list("brand_id", "n")
    )
    brand_ids = sorted(set(counts) | set(approvals))
    return [
        BrandSummary(
            brand_id=b,
            escalated=counts.get(b, {}).get("escalated", 0),
            at_risk=counts.get(b, {}).get("at_risk", 0),
            breached=counts.get(b, {}).get("breached", 0),
            flagged=counts.get(b, {}).get("flagged", 0),
            awaiting_approval=approvals.get(b, 0),
        )
        for b in brand_ids
    ]


def tower_summary(user: Any) -> TowerSummary:
    """What needs attention across every campaign the user may see (filters aside)."""
    brands = policies.visible_brands(user)
    summaries = _summaries(brands.values("pk"), Campaign.objects.filter(brand__in=brands))
    known = {s.brand_id for s in summaries}
    # Every visible brand gets an element, so a live update for it has somewhere to land.
    extra = [
        BrandSummary(brand_id=pk)
        for pk in brands.values_list("pk", flat=True)
        if pk not in known
    ]
    return TowerSummary(brands=sorted(summaries + extra, key=lambda s: s.brand_id))


def brand_summary(brand_id: int) -> BrandSummary:
    found = _summaries([brand_id], Campaign.objects.filter(brand_id=brand_id))
    return found[0] if found else BrandSummary(brand_id=brand_id)


def tower_owners(user: Any) -> list[str]:
    return list(
        Campaign.objects.filter(brand__in=policies.visible_brands(user))
        .order_by("owner__username")
        .values_list("owner__username", flat=True)
        .distinct()
    )
