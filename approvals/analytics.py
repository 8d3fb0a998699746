"""How the approval queues behave: time to decision, rubber-stamping, legal vs marketing.

Two halves:

- **Pure rules** (dataclasses in, dataclasses out, no database): ``median``,
  ``percentile``, ``time_held``, ``rubber_stamp_check``, ``queue_stats``,
  ``reviewer_stats``, ``disagreement`` and ``summarise``, which puts them together.
- **The selector** ``queue_analytics``: three queries whatever the number of items
  (decided items, pending counts, edit audit rows), then ``summarise``.

Definitions used throughout (the page repeats them in plain words):

- An item is **decided in the period** when it left ``pending`` (approved, rejected,
  changes requested or expired) with ``since <= decided_at < until``.
- A **decision by a person** has ``decided_by`` set. Expiries and the ``pause`` safe
  default are applied by the timer sweep on nobody's behalf: they count in a queue's
  outcome shares but not in times to decision, reviewers or disagreement.
- **Time held** is how long the deciding reviewer had the item: from ``claimed_at`` when
  that same reviewer claimed it (the moment they opened it), otherwise from
  ``created_at`` ("since it arrived"), which overstates the time they looked at it.

Over 500 lines on purpose: one read model (the queue analytics page and its CSV), whose
definitions above only hold if its queries sit together.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db.models import CharField, Count, Q
from django.db.models.functions import Cast
from django.utils import timezone

from governance.domain.roles import Role
from governance.models import AuditEvent

from .models import ApprovalRequest, ApprovalStatus

#: A decision made this soon after the reviewer took the item counts as rubber-stamped.
#: The setting ``CONTROLTOWER_RUBBER_STAMP_SECONDS`` overrides it (read by the selector).
RUBBER_STAMP_SECONDS = 10

#: Outcomes a person chooses; expiry is the clock's.
PERSON_OUTCOMES = frozenset(
    {ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.CHANGES_REQUESTED}
)
#: Queues listed first, in this order; any other queue follows alphabetically.
QUEUE_ORDER = (Role.MANAGER.value, Role.LEGAL.value, Role.ADMIN.value)


class HeldBasis(StrEnum):
    CLAIMED = "since claimed"
    ARRIVED = "since it arrived"


# --- Data in ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DecidedItem:
    """One approval request that left ``pending`` in the period."""

    approval_id: int
    queue_role: str
    status: str
    campaign_id: int
    campaign_name: str
    created_at: datetime
    decided_at: datetime
    decided_by_id: int | None = None
    reviewer: str = ""
    claimed_by_id: int | None = None
    claimed_at: datetime | None = None

    @property
    def by_person(self) -> bool:
        return self.decided_by_id is not None and self.status in PERSON_OUTCOMES


@dataclass(frozen=True)
class EditRecord:
    """A reviewer's edit before approving, from an ``approval.approved`` audit row."""

    approval_id: int
    reviewer_id: int | None
    effort_chars: int


@dataclass(frozen=True)
class QueueLoad:
    """What waits in a queue right now."""

    queue_role: str
    pending: int
    overdue: int


# --- Data out ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RubberStampCheck:
    held: timedelta
    basis: HeldBasis
    rubber_stamped: bool


@dataclass(frozen=True)
class QueueStats:
    queue_role: str
    decided: int = 0
    approved: int = 0
    rejected: int = 0
    changes_requested: int = 0
    expired: int = 0
    decided_by_person: int = 0
    median_to_decision: timedelta | None = None
    p90_to_decision: timedelta | None = None
    pending: int = 0
    overdue: int = 0

    def share(self, count: int) -> float | None:
        return count / self.decided if self.decided else None

    @property
    def approved_share(self) -> float | None:
        return self.share(self.approved)

    @property
    def rejected_share(self) -> float | None:
        return self.share(self.rejected)

    @property
    def changes_requested_share(self) -> float | None:
        return self.share(self.changes_requested)

    @property
    def expired_share(self) -> float | None:
        return self.share(self.expired)


@dataclass(frozen=True)
class ReviewerStats:
    reviewer_id: int
    reviewer: str
    queue_role: str
    decisions: int
    # Over the decisions the reviewer had claimed first; None when they claimed none.
    median_held: timedelta | None
    claimed: int
    rubber_stamped: int
    # Of ``rubber_stamped``, how many were measured from arrival (never claimed).
    rubber_stamped_since_arrival: int
    edits: int
    median_edit_effort: float | None

    @property
    def rubber_stamped_share(self) -> float:
        return self.rubber_stamped / self.decisions if self.decisions else 0.0

    @property
    def flagged(self) -> bool:
        return self.rubber_stamped > 0


@dataclass(frozen=True)
class CampaignDisagreement:
    campaign_id: int
    campaign_name: str
    legal_rejected_manager_approved: bool
    manager_rejected_legal_approved: bool

    @property
    def description(self) -> str:
        parts = []
        if self.legal_rejected_manager_approved:
            parts.append("legal rejected, the marketing manager approved")
        if self.manager_rejected_legal_approved:
            parts.append("the marketing manager rejected, legal approved")
        return "; ".join(parts)


@dataclass(frozen=True)
class Disagreement:
    compared: int
    campaigns: tuple[CampaignDisagreement, ...] = ()

    @property
    def disagreeing(self) -> int:
        return len(self.campaigns)

    @property
    def share(self) -> float | None:
        return self.disagreeing / self.compared if self.compared else None


@dataclass(frozen=True)
class QueueAnalytics:
    since: datetime
    until: datetime
    rubber_stamp_seconds: float
    queues: tuple[QueueStats, ...]
    reviewers: tuple[ReviewerStats, ...]
    disagreement: Disagreement
    decided: int = field(default=0)


# --- Pure rules -------------------------------------------------------------------------


def percentile(durations: Sequence[timedelta], share: float) -> timedelta | None:
    """The ``share`` quantile (0..1) by linear interpolation between the two closest
    ranks (the "inclusive" method: the minimum at 0, the maximum at 1), or None when there
    is nothing to measure."""
    if not durations:
        return None
    if not 0 <= share <= 1:
        raise ValueError("share is between 0 and 1")
    ordered = sorted(durations)
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(durations: Sequence[timedelta]) -> timedelta | None:
    return percentile(durations, 0.5)


def _median_number(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def time_held(item: DecidedItem) -> tuple[timedelta, HeldBasis]:
    """How long the deciding reviewer had the item, and from when that is measured.

    TRICKY: a claim counts only when the decider made it and it falls between arrival and
    decision; a stale claim by someone else says nothing about how long the decider
    looked, so that decision is measured since it arrived."""
    claim = item.claimed_at
    if (
        claim is not None
        and item.claimed_by_id is not None
        and item.claimed_by_id == item.decided_by_id
        and item.created_at <= claim <= item.decided_at
    ):
        return item.decided_at - claim, HeldBasis.CLAIMED
    return item.decided_at - item.created_at, HeldBasis.ARRIVED


def rubber_stamp_check(item: DecidedItem, threshold_seconds: float) -> RubberStampCheck:
    """Rubber-stamped: decided less than ``threshold_seconds`` after the reviewer took it."""
    held, basis = time_held(item)
    return RubberStampCheck(
        held=held,
        basis=basis,
        rubber_stamped=held < timedelta(seconds=threshold_seconds),
    )


def _queue_sort_key(queue_role: str) -> tuple[int, str]:
    rank = QUEUE_ORDER.index(queue_role) if queue_role in QUEUE_ORDER else len(QUEUE_ORDER)
    return rank, queue_role


def queue_stats(items: Iterable[DecidedItem], loads: Iterable[QueueLoad]) -> list[QueueStats]:
    """One row per queue that decided something in the period or has something waiting.

    Outcome shares are over every item decided in the period; times to decision
    (created → decided) only over decisions by a person."""
    by_queue: dict[str, list[DecidedItem]] = defaultdict(list)
    for item in items:
        by_queue[item.queue_role].append(item)
    load_of = {load.queue_role: load for load in loads}
    rows = []
    for queue_role in sorted(set(by_queue) | set(load_of), key=_queue_sort_key):
        decided = by_queue.get(queue_role, [])
        outcomes = defaultdict(int)
        for item in decided:
            outcomes[item.status] += 1
        waits = [i.decided_at - i.created_at for i in decided if i.by_person]
        load = load_of.get(queue_role, QueueLoad(queue_role, 0, 0))
        rows.append(
            QueueStats(
                queue_role=queue_role,
                decided=len(decided),
                approved=outcomes[ApprovalStatus.APPROVED],
                rejected=outcomes[ApprovalStatus.REJECTED],
                changes_requested=outcomes[ApprovalStatus.CHANGES_REQUESTED],
                expired=outcomes[ApprovalStatus.EXPIRED],
                decided_by_person=len(waits),
                median_to_decision=median(waits),
                p90_to_decision=percentile(waits, 0.9),
                pending=load.pending,
                overdue=load.overdue,
            )
        )
    return rows


def reviewer_stats(
    items: Iterable[DecidedItem], edits: Iterable[EditRecord], threshold_seconds: float
) -> list[ReviewerStats]:
    """One row per (reviewer, queue) over the decisions they made in the period.

    An edit counts for the reviewer who decided the approval it was made on (the audit
    row's actor must be that reviewer); the row's queue is the approval's."""
    decided: dict[tuple[int, str], list[DecidedItem]] = defaultdict(list)
    decider_of: dict[int, tuple[int, str]] = {}
    for item in items:
        # Spelled out (not item.by_person) so the type checker sees the id is set.
        if item.decided_by_id is not None and item.status in PERSON_OUTCOMES:
            decided[(item.decided_by_id, item.queue_role)].append(item)
            decider_of[item.approval_id] = (item.decided_by_id, item.queue_role)
    efforts: dict[tuple[int, str], list[int]] = defaultdict(list)
    for edit in edits:
        key = decider_of.get(edit.approval_id)
        if key is not None and edit.reviewer_id == key[0]:
            efforts[key].append(edit.effort_chars)
    rows = []
    for (reviewer_id, queue_role), mine in decided.items():
        checks = [rubber_stamp_check(item, threshold_seconds) for item in mine]
        claimed = [c.held for c in checks if c.basis == HeldBasis.CLAIMED]
        stamped = [c for c in checks if c.rubber_stamped]
        effort = efforts.get((reviewer_id, queue_role), [])
        rows.append(
            ReviewerStats(
                reviewer_id=reviewer_id,
                reviewer=mine[0].reviewer,
                queue_role=queue_role,
                decisions=len(mine),
                median_held=median(claimed),
                claimed=len(claimed),
                rubber_stamped=len(stamped),
                rubber_stamped_since_arrival=sum(c.basis == HeldBasis.ARRIVED for c in stamped),
                edits=len(effort),
                median_edit_effort=_median_number(effort),
            )
        )
    rows.sort(key=lambda r: (_queue_sort_key(r.queue_role), r.reviewer.lower()))
    return rows


def disagreement(items: Iterable[DecidedItem]) -> Disagreement:
    """How often legal and marketing disagree about a campaign.

    Precisely:

    - Only decisions by a person in the period count (approved, rejected or changes
      requested — not expiries or safe defaults), by the queue the item belongs to
      (an item escalated to an admin still belongs to its own queue).
    - A campaign is **compared** when it has at least one such decision in the Legal
      Reviewer queue AND at least one in the Marketing Manager queue.
    - A compared campaign **disagrees** when one of the two queues approved at least one
      of its items and the other rejected at least one. "Changes requested" is neither
      an approval nor a rejection: it makes a campaign compared but never disagreeing.
    - The figure is disagreeing ÷ compared campaigns (None when none were compared),
      and the disagreeing campaigns are listed by name.
    """
    seen: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    names: dict[int, str] = {}
    for item in items:
        if item.by_person and item.queue_role in (Role.LEGAL.value, Role.MANAGER.value):
            seen[item.campaign_id][item.queue_role].add(item.status)
            names[item.campaign_id] = item.campaign_name
    compared = 0
    campaigns = []
    for campaign_id, queues in seen.items():
        legal, manager = queues.get(Role.LEGAL.value), queues.get(Role.MANAGER.value)
        if not legal or not manager:
            continue
        compared += 1
        approved, rejected = ApprovalStatus.APPROVED, ApprovalStatus.REJECTED
        legal_no = rejected in legal and approved in manager
        manager_no = rejected in manager and approved in legal
        if legal_no or manager_no:
            campaigns.append(
                CampaignDisagreement(campaign_id, names[campaign_id], legal_no, manager_no)
            )
    campaigns.sort(key=lambda c: (c.campaign_name.lower(), c.campaign_id))
    return Disagreement(compared=compared, campaigns=tuple(campaigns))


def summarise(
    items: Sequence[DecidedItem],
    edits: Iterable[EditRecord],
    loads: Iterable[QueueLoad],
    *,
    since: datetime,
    until: datetime,
    rubber_stamp_seconds: float = RUBBER_STAMP_SECONDS,
) -> QueueAnalytics:
    return QueueAnalytics(
        since=since,
        until=until,
        rubber_stamp_seconds=rubber_stamp_seconds,
        queues=tuple(queue_stats(items, loads)),
        reviewers=tuple(reviewer_stats(items, edits, rubber_stamp_seconds)),
        disagreement=disagreement(items),
        decided=len(items),
    )


def format_span(span: timedelta | None) -> str:
    """A short human duration down to the second (rubber-stamping lives in seconds):
    "< 1 s", "8 s", "4 min 10 s", "3 h 20 min", "2 d 4 h"; "—" when there is none."""
    if span is None:
        return "—"
    seconds = int(span.total_seconds())
    if seconds < 1:
        return "< 1 s"
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


# --- The selector -----------------------------------------------------------------------


def queue_analytics(
    *, since: datetime, until: datetime, brand_ids: list[int] | None
) -> QueueAnalytics:
    """The queues' behaviour over ``[since, until)`` for ``brand_ids`` (None: every brand).

    Three queries whatever the volume; the pending and overdue counts are as of now.
    Callers decide who may see it (admins: ``approvals.analytics_views``)."""
    threshold = float(getattr(settings, "CONTROLTOWER_RUBBER_STAMP_SECONDS", RUBBER_STAMP_SECONDS))
    scope = ApprovalRequest.objects.all()
    if brand_ids is not None:
        scope = scope.filter(brand_id__in=brand_ids)
    decided_qs = scope.exclude(status=ApprovalStatus.PENDING).filter(
        decided_at__gte=since, decided_at__lt=until
    )
    rows = decided_qs.order_by().values_list(
        "pk",
        "queue_role",
        "status",
        "campaign_id",
        "campaign__name",
        "created_at",
        "decided_at",
        "decided_by_id",
        "decided_by__username",
        "claimed_by_id",
        "claimed_at",
    )
    items = [
        DecidedItem(
            approval_id=pk,
            queue_role=queue_role,
            status=status,
            campaign_id=campaign_id,
            campaign_name=campaign_name,
            created_at=created_at,
            decided_at=decided_at,
            decided_by_id=decided_by_id,
            reviewer=username or "",
            claimed_by_id=claimed_by_id,
            claimed_at=claimed_at,
        )
        for (
            pk,
            queue_role,
            status,
            campaign_id,
            campaign_name,
            created_at,
            decided_at,
            decided_by_id,
            username,
            claimed_by_id,
            claimed_at,
        ) in rows
    ]
    now = timezone.now()
    # TRICKY: order_by() drops Meta.ordering, which would otherwise join the GROUP BY and
    # split each queue into one row per created_at.
    loads = [
        QueueLoad(row["queue_role"], row["pending"], row["overdue"])
        for row in scope.filter(status=ApprovalStatus.PENDING)
        .order_by()
        .values("queue_role")
        .annotate(pending=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
    ]
    # Audit rows name their target by text id; match them to the approvals decided in the
    # period inside the database rather than shipping a list of ids back to it.
    approved_ids = (
        decided_qs.filter(status=ApprovalStatus.APPROVED, decided_by__isnull=False)
        .order_by()
        .annotate(key=Cast("pk", CharField()))
        .values("key")
    )
    edits = [
        EditRecord(int(object_id), actor_user_id, int(effort))
        for object_id, actor_user_id, effort in AuditEvent.objects.filter(
            action="approval.approved",
            object_type=ApprovalRequest._meta.label_lower,
            object_id__in=approved_ids,
            data__edit__effort_chars__isnull=False,
        )
        .order_by()
        .values_list("object_id", "actor_user_id", "data__edit__effort_chars")
    ]
    return summarise(items, edits, loads, since=since, until=until, rubber_stamp_seconds=threshold)
