"""The tower's read model: one row per campaign a user may see, and the counts that need
attention. A fixed number of queries whatever the number of campaigns: rows for one page
only, flags prefetched for that page, counts aggregated in the database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from approvals.selectors import pending_approval_counts, queue_counts_for_user
from campaigns.domain.budget import Pacing, pace
from campaigns.domain.phases import FINAL_PHASES, Phase
from campaigns.models import (
    Brand,
    Campaign,
    CampaignHold,
    EscalationState,
    SlaStatus,
)
from campaigns.selectors import campaign_plan_end
from governance import policies
from monitoring.models import OPEN_FLAG_STATES, AnomalyFlag
from monitoring.selectors import Delivery, delivery_so_far

from .work import CampaignWork, campaign_work

#: URL sort keys → database ordering: each sorts by exactly what its column shows (the
#: campaign's name as people read it, case aside; the share of the budget used, not the
#: amount; the SLA from on track to breached). Ties fall back to the name, then the id, so
#: a page is the same every time it is asked for. Anything else falls back to the default.
SORTS: dict[str, str] = {
    "name": "name_key",
    "brand": "brand_key",
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

    def attention_query(self) -> str:
        """Where the attention strip's links lead: the campaigns it counted (its brand,
        needing attention), whatever phase or owner the table is narrowed to."""
        return TowerFilters(brand=self.brand, attention=True).query()

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
    consumed_pct: float
    #: What the campaign waits for, derived now (``campaigns.domain.next_action``).
    next_action: str = ""
    #: Open holds: work waiting for a person's decision, with the reason.
    holds: list[CampaignHold] = field(default_factory=list)
    #: The SLA behind an "at risk" or "breached" status, and its detail.
    sla_concern: str = ""
    sla_concern_detail: str = ""

    @property
    def needs_attention(self) -> bool:
        c = self.campaign
        return (
            c.phase == Phase.ESCALATED
            or c.sla_status != SlaStatus.ON_TRACK
            or bool(self.open_flags)
            or self.pending_approvals > 0
            or bool(self.holds)
        )


@dataclass(frozen=True)
class BrandSummary:
    brand_id: int
    escalated: int = 0
    at_risk: int = 0
    breached: int = 0
    flagged: int = 0
    awaiting_approval: int = 0
    on_hold: int = 0


@dataclass(frozen=True)
class TowerSummary:
    """The attention strip: what needs attention among the campaigns of the brands in view.

    It follows the brand filter (a marketer who picks a brand asks about that brand) and
    only that: its live counts arrive one brand at a time, and each link it offers shows
    exactly the campaigns it counted (``brand`` + ``attention``), whatever phase or owner
    the table is narrowed to. Its label names that scope.
    """

    #: Every visible brand, in view or not: a live update for any of them has somewhere
    #: to land (the page sums the ones in ``in_view``).
    brands: list[BrandSummary] = field(default_factory=list)
    in_view: frozenset[int] = frozenset()
    #: The brand in view, or None for all of the user's brands.
    brand: Brand | None = None
    #: Pending requests of the brands in view that wait in *this user's* queues — the
    #: navigation's "Approvals (N)" counts the same thing across all their brands. None
    #: for someone who reviews nothing (no queue, no "Approvals" entry).
    your_queue: int | None = None

    @property
    def counted(self) -> list[BrandSummary]:
        return [b for b in self.brands if b.brand_id in self.in_view]

    @property
    def elsewhere(self) -> list[BrandSummary]:
        return [b for b in self.brands if b.brand_id not in self.in_view]

    def total(self, name: str) -> int:
        return sum(getattr(b, name) for b in self.counted)

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

    @property
    def on_hold(self) -> int:
        return self.total("on_hold")


def _open_flags_exist() -> Exists:
    return Exists(AnomalyFlag.objects.filter(campaign=OuterRef("pk"), state__in=OPEN_FLAG_STATES))


def _pending_approvals() -> Coalesce:
    pending = (
        ApprovalRequest.objects.filter(campaign=OuterRef("pk"), status=ApprovalStatus.PENDING)
        .order_by()
        .values("campaign")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(pending, output_field=IntegerField()), Value(0))


def _sla_rank() -> Case:
    return Case(
        When(sla_status=SlaStatus.BREACHED, then=Value(2)),
        When(sla_status=SlaStatus.AT_RISK, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


#: Computed columns, each added only where a sort needs it: at 10,000 campaigns,
#: computing them for every row would cost more than rendering the whole page.
SORT_ANNOTATIONS = {
    "brand": lambda: {"brand_key": Lower("brand__name")},
    "budget": lambda: {"consumed_ratio": F("budget_consumed") / F("budget_total")},
    "sla": lambda: {"sla_rank": _sla_rank()},
    "approvals": lambda: {"pending_approvals": _pending_approvals()},
}


def _rows_for(campaigns: QuerySet[Campaign], now: datetime) -> list[TowerRow]:
    """Everything a row shows, for the few campaigns on screen: a fixed handful of plain
    queries (campaigns, their open flags, and what their next action is read from),
    whatever the page size."""
    found = list(campaigns.select_related("brand", "owner", "brief"))
    ids = [c.pk for c in found]
    flags: dict[int, list[AnomalyFlag]] = {pk: [] for pk in ids}
    for flag in AnomalyFlag.objects.filter(
        campaign_id__in=ids, state__in=OPEN_FLAG_STATES
    ).order_by("kind"):
        flags[flag.campaign_id].append(flag)
    work = campaign_work(found, flags=flags, now=now)
    delivery = delivery_so_far(ids)
    return [_row(c, now, flags[c.pk], work[c.pk], delivery.get(c.pk)) for c in found]


def tower_campaign_ids(user: Any, filters: TowerFilters) -> QuerySet:
    """The ids of the campaigns the user may see, filtered and sorted as the URL says.

    Narrow on purpose: the database sorts ids, not wide joined rows; ``tower_rows``
    then fetches the details of one page only.
    """
    campaigns = Campaign.objects.filter(brand_id__in=policies.visible_brand_ids(user))
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
            | _open_flags_exist()
            | Exists(CampaignHold.objects.filter(campaign=OuterRef("pk"), resolved_at__isnull=True))
            | Exists(
                ApprovalRequest.objects.filter(
                    campaign=OuterRef("pk"), status=ApprovalStatus.PENDING
                )
            )
        )
    key = filters.sort.removeprefix("-")
    if key in SORT_ANNOTATIONS:
        campaigns = campaigns.annotate(**SORT_ANNOTATIONS[key]())
    # The tie-breakers read the same way whichever direction the column goes: A to Z.
    campaigns = campaigns.annotate(name_key=Lower("name"))
    order = SORTS[key]
    ordering = [f"-{order}" if filters.sort.startswith("-") else order]
    ordering += [] if key == "name" else ["name_key"]
    ordering += ["-id"] if key == "name" and filters.sort.startswith("-") else ["id"]
    return campaigns.order_by(*ordering).values_list("pk", flat=True)


def tower_rows(campaign_ids: Iterable[int], *, now: datetime | None = None) -> list[TowerRow]:
    """Rows for these campaigns, in this order."""
    ids = list(campaign_ids)
    rows = {
        row.campaign.pk: row
        for row in _rows_for(Campaign.objects.filter(pk__in=ids), now or timezone.now())
    }
    return [rows[pk] for pk in ids if pk in rows]


def _row(
    campaign: Campaign,
    now: datetime,
    open_flags: list[AnomalyFlag],
    work: CampaignWork,
    delivery: Delivery | None = None,
) -> TowerRow:
    started = campaign.delivery_started_at
    pacing = pace(
        total=campaign.budget_total,
        consumed=delivery.consumed if delivery else campaign.budget_consumed,
        launched_at=campaign.launched_at,
        delivery_started_at=timezone.localtime(started) if started else None,
        end=timezone.localtime(campaign_plan_end(campaign)),
        at=timezone.localtime(now),
        tolerance_pct=campaign.brief.sla_pacing_tolerance_pct,
        warm_up=work.warm_up,
        ended=campaign.phase in FINAL_PHASES,
        reported_until=(
            timezone.localtime(delivery.reported_until)
            if delivery and delivery.reported_until
            else None
        ),
    )
    return TowerRow(
        campaign=campaign,
        pacing=pacing,
        open_flags=open_flags,
        pending_approvals=work.pending_approvals,
        consumed_pct=campaign.budget_consumed_pct,
        next_action=work.next_action,
        holds=work.holds,
        sla_concern=work.sla_concern,
        sla_concern_detail=work.sla_concern_detail,
    )


@dataclass(frozen=True)
class CampaignStatus:
    """A campaign's page header: its next action and pacing, as its tower row says."""

    work: CampaignWork
    pacing: Pacing


def campaign_status(campaign: Campaign, *, now: datetime | None = None) -> CampaignStatus:
    now = now or timezone.now()
    flags = {
        campaign.pk: list(
            AnomalyFlag.objects.filter(campaign=campaign, state__in=OPEN_FLAG_STATES).order_by(
                "kind"
            )
        )
    }
    work = campaign_work([campaign], flags=flags, now=now)[campaign.pk]
    delivery = delivery_so_far([campaign.pk]).get(campaign.pk)
    row = _row(campaign, now, flags[campaign.pk], work, delivery)
    return CampaignStatus(work=work, pacing=row.pacing)


def tower_row(campaign_id: int) -> TowerRow | None:
    """One campaign's row, exactly as the tower page renders it (for live pushes)."""
    rows = _rows_for(Campaign.objects.filter(pk=campaign_id), timezone.now())
    return rows[0] if rows else None


def _summaries(brand_ids: list[int]) -> list[BrandSummary]:
    """Per-brand counts of what needs attention, in one statement whatever the number of
    campaigns: each count is an indexed lookup over one brand's rows. What awaits approval
    is approvals' one count (``pending_approval_counts``), a second query.

    TRICKY: plain SQL on purpose. This runs on every live push; the ORM spent longer
    compiling the equivalent nested subqueries than the database spent answering them.
    The SQL is portable (SQLite and PostgreSQL) and its table names come from the models.
    """
    if not brand_ids:
        return []
    campaign = Campaign._meta.db_table
    flag = AnomalyFlag._meta.db_table
    hold = CampaignHold._meta.db_table
    brand = Brand._meta.db_table
    placeholders = ", ".join(["%s"] * len(brand_ids))
    sql = f"""
        SELECT b.id,
          (SELECT COUNT(*) FROM {campaign} c WHERE c.brand_id = b.id AND c.phase = %s),
          (SELECT COUNT(*) FROM {campaign} c WHERE c.brand_id = b.id AND c.sla_status = %s),
          (SELECT COUNT(*) FROM {campaign} c WHERE c.brand_id = b.id AND c.sla_status = %s),
          (SELECT COUNT(DISTINCT f.campaign_id) FROM {flag} f
             JOIN {campaign} c ON c.id = f.campaign_id
            WHERE c.brand_id = b.id AND f.state IN (%s, %s)),
          (SELECT COUNT(DISTINCT h.campaign_id) FROM {hold} h
             JOIN {campaign} c ON c.id = h.campaign_id
            WHERE c.brand_id = b.id AND h.resolved_at IS NULL)
        FROM {brand} b WHERE b.id IN ({placeholders}) ORDER BY b.id
    """
    params = [
        Phase.ESCALATED.value,
        SlaStatus.AT_RISK.value,
        SlaStatus.BREACHED.value,
        *[state.value for state in OPEN_FLAG_STATES],
        *brand_ids,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    pending = pending_approval_counts(brand_ids)
    return [BrandSummary(*row[:5], pending[row[0]].total, *row[5:]) for row in rows]


def tower_summary(user: Any, filters: TowerFilters | None = None) -> TowerSummary:
    """What needs attention across the campaigns of the brands in view: the brand filter's
    brand, or every brand the user may see. Every visible brand gets an entry, so a live
    update for it has somewhere to land; only those in view are counted."""
    visible = sorted(policies.visible_brand_ids(user))
    brand = None
    in_view = frozenset(visible)
    if filters is not None and filters.brand:
        brand = Brand.objects.filter(pk__in=visible, slug=filters.brand).first()
        in_view = frozenset({brand.pk} if brand else ())
    your_queue = None
    # The same people the navigation offers "Approvals" to (controltower.context_processors).
    if policies.is_manager(user) or policies.is_legal_reviewer(user) or policies.is_admin(user):
        your_queue = sum(
            n for (brand_id, _role), n in queue_counts_for_user(user).items() if brand_id in in_view
        )
    return TowerSummary(
        brands=_summaries(visible), in_view=in_view, brand=brand, your_queue=your_queue
    )


def brand_summary(brand_id: int) -> BrandSummary:
    return _summaries([brand_id])[0]


def tower_owners(user: Any) -> list[str]:
    """People who own a campaign the user may see (for the owner filter)."""
    from django.contrib.auth import get_user_model

    owns_visible = Campaign.objects.filter(
        owner=OuterRef("pk"), brand_id__in=policies.visible_brand_ids(user)
    )
    return list(
        get_user_model()
        .objects.filter(Exists(owns_visible))
        .order_by("username")
        .values_list("username", flat=True)
    )
