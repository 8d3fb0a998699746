"""The queues: what waits in them, its cards, and the one count of pending requests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet


def queue_for_user(user: Any, *, decided: bool = False, limit: int | None = 100) -> QuerySet:
    """Approval requests in the queues of the user's roles, for brands they may see:
    pending ones oldest first (the SLA clock), or the most recently decided."""
    from governance import policies

    from ..models import ApprovalRequest, ApprovalStatus

    items = ApprovalRequest.objects.filter(policies.queue_scope(user)).select_related(
        "campaign", "brand", "decision", "decided_by", "claimed_by"
    )
    if decided:
        return items.exclude(status=ApprovalStatus.PENDING).order_by("-decided_at")[:limit]
    return items.filter(status=ApprovalStatus.PENDING).order_by("created_at", "id")[:limit]


@dataclass(frozen=True)
class QueueView:
    """What one queue page shows: which list (waiting or decided) and its filters, as the
    URL carries them (``?brand=northwind&kind=publish_content``)."""

    decided: bool = False
    brand: str = ""  # a brand's slug
    campaign: int | None = None
    kind: str = ""  # an action type
    holder: str = ""  # "mine": claimed by me; "free": claimed by nobody; "": all

    def query(self, **changes: Any) -> str:
        """The URL query of this view (with ``changes``), without empty filters."""
        from urllib.parse import urlencode

        values = {
            "show": "decided" if self.decided else "",
            "brand": self.brand,
            "campaign": self.campaign or "",
            "kind": self.kind,
            "holder": self.holder,
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def queue_filtered(user: Any, view: QueueView, *, limit: int | None = 200) -> list[Any]:
    """The user's queue narrowed to ``view``'s filters: pending items by the time left on
    their SLA clock (the most urgent first), or decided ones newest first."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from governance import policies

    from ..models import ApprovalRequest, ApprovalStatus

    items = ApprovalRequest.objects.filter(policies.queue_scope(user)).select_related(
        "campaign", "brand", "decision", "decided_by", "claimed_by"
    )
    if view.brand:
        items = items.filter(brand__slug=view.brand)
    if view.campaign:
        items = items.filter(campaign_id=view.campaign)
    if view.kind:
        items = items.filter(action_type=view.kind)
    if view.holder:
        fresh = timezone.now() - timedelta(minutes=settings.CONTROLTOWER_CLAIM_MINUTES)
        held = Q(claimed_by__isnull=False, claimed_at__gte=fresh)
        items = (
            items.filter(held & Q(claimed_by=user))
            if view.holder == "mine"
            else items.exclude(held)
        )
    if view.decided:
        return list(items.exclude(status=ApprovalStatus.PENDING).order_by("-decided_at")[:limit])
    return list(
        items.filter(status=ApprovalStatus.PENDING).order_by("due_at", "created_at", "id")[:limit]
    )


def queue_filter_options(
    user: Any, *, decided: bool = False
) -> dict[str, list[tuple[Any, str, int]]]:
    """The brands, campaigns and kinds in the user's queue, each ``(value, label, count)``,
    for the filter menus (only what there is to filter by)."""
    from governance import policies
    from governance.domain.actions import ActionType

    from ..models import ApprovalRequest, ApprovalStatus

    items = ApprovalRequest.objects.filter(policies.queue_scope(user))
    items = (
        items.exclude(status=ApprovalStatus.PENDING)
        if decided
        else items.filter(status=ApprovalStatus.PENDING)
    ).order_by()

    def grouped(*fields: str) -> list[dict[str, Any]]:
        return list(items.values(*fields).annotate(n=Count("pk")).order_by(*fields))

    def kind_label(value: str) -> str:
        try:
            return ActionType(value).label
        except ValueError:
            return value

    return {
        "brands": [
            (r["brand__slug"], r["brand__name"], r["n"])
            for r in grouped("brand__name", "brand__slug")
        ],
        "campaigns": [
            (r["campaign_id"], f"{r['campaign__name']} · {r['brand__name']}", r["n"])
            for r in grouped("brand__name", "campaign__name", "campaign_id")
        ],
        "kinds": [
            (r["action_type"], kind_label(r["action_type"]), r["n"]) for r in grouped("action_type")
        ],
    }


def queue_campaign_choices(user: Any, campaign_ids: Iterable[int]) -> list[tuple[int, str]]:
    """``(id, "Campaign · Brand")`` of these campaigns, those of brands the user sees."""
    from campaigns.models import Campaign
    from governance import policies

    rows = Campaign.objects.filter(
        pk__in=list(campaign_ids), brand_id__in=policies.visible_brand_ids(user)
    ).values_list("pk", "name", "brand__name")
    return [(pk, f"{name} · {brand}") for pk, name, brand in rows]


def approval_card(approval_id: int) -> dict[str, Any] | None:
    """One queue card as every member of its queue sees it (for live pushes). Whether the
    viewer may decide is checked again, per person, when they press a button."""
    from ..cards import card
    from ..models import ApprovalRequest

    approval = (
        ApprovalRequest.objects.select_related("campaign", "brand", "decision", "decided_by")
        .filter(pk=approval_id)
        .first()
    )
    if approval is None:
        return None
    return card(approval, can_decide=True, previous=previous_versions([approval]).get(approval.pk))


@dataclass(frozen=True)
class Pending:
    """How many of one brand's approval requests wait for an answer."""

    #: Each request once, whatever its queue (the tower's "awaiting approval").
    total: int = 0
    #: Per queue asked for: an item counts in its own queue and, once escalated, in the
    #: tier it went to (a reviewer's nav count, a queue's live count).
    queues: Mapping[str, int] = field(default_factory=dict)


def pending_approval_counts(
    brand_ids: Iterable[int], roles: Iterable[str] = ()
) -> dict[int, Pending]:
    """The one count of pending approval requests, per brand (and per queue of ``roles``),
    in one query. Every brand asked for has an entry, zeros included."""
    from ..models import ApprovalRequest, ApprovalStatus

    brand_ids, roles = list(brand_ids), list(dict.fromkeys(roles))
    if not brand_ids:
        return {}
    per_queue = {
        f"queue_{i}": Count("pk", filter=Q(queue_role=role) | Q(escalated_to=role))
        for i, role in enumerate(roles)
    }
    rows = (
        ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, brand_id__in=brand_ids)
        .order_by()
        .values("brand_id")
        .annotate(total=Count("pk"), **per_queue)
    )
    found = {row["brand_id"]: row for row in rows}
    return {
        brand_id: Pending(
            total=found.get(brand_id, {}).get("total", 0),
            queues={
                role: found.get(brand_id, {}).get(f"queue_{i}", 0) for i, role in enumerate(roles)
            },
        )
        for brand_id in brand_ids
    }


def queue_counts_for_user(user: Any) -> dict[tuple[int, str], int]:
    """Pending items per (brand, queue) the user works — the pieces of the nav count that
    live updates replace one at a time."""
    from governance import policies

    roles = [role.value for role in policies.roles_of(user)]
    brand_ids = policies.visible_brand_ids(user)
    if not roles or not brand_ids:
        return {}
    counts = pending_approval_counts(brand_ids, roles)
    return {(b, r): counts[b].queues[r] for b in brand_ids for r in roles}


def queue_group_count(brand_id: int, role: str) -> int:
    """Pending items in one brand's queue of ``role`` (its own and escalated to it)."""
    return pending_approval_counts([brand_id], [role])[brand_id].queues[role]


#: Payload (and evidence) fields that tell one draft from its siblings of the same
#: campaign and action type: the email and the landing page are two drafts, each with
#: versions of its own.
DRAFT_IDENTITY = ("channel", "variant", "arm", "segment", "audience")


def draft_identity(item: Any) -> tuple[Any, ...]:
    """What identifies "the same draft" across its versions: the campaign, the action type
    and the payload's channel, variant, arm, segment or audience (the content agent keeps
    the segment in the evidence)."""
    payload, evidence = item.payload or {}, item.evidence or {}
    return (
        item.campaign_id,
        item.action_type,
        *(str(payload.get(key, evidence.get(key, ""))) for key in DRAFT_IDENTITY),
    )


def previous_versions(approvals: list[Any]) -> dict[int, Any]:
    """For each request, the version it revises: the latest earlier request for the same
    draft (``draft_identity``) that was answered (changes asked for, rejected, expired,
    approved) — in one query for the whole page. A sibling still waiting (another
    channel, or a second draft pending beside it) is no previous version; a request
    without one is absent from the answer, and its card shows no diff."""
    from ..models import ApprovalRequest, ApprovalStatus

    if not approvals:
        return {}
    earlier = (
        ApprovalRequest.objects.filter(
            campaign_id__in={a.campaign_id for a in approvals},
            action_type__in={a.action_type for a in approvals},
        )
        .exclude(status=ApprovalStatus.PENDING)
        .only("id", "campaign_id", "action_type", "created_at", "payload", "evidence", "status")
        .order_by("created_at", "id")
    )
    history: dict[tuple[Any, ...], list[Any]] = {}
    for item in earlier:
        history.setdefault(draft_identity(item), []).append(item)
    found = {}
    for approval in approvals:
        before = [
            item
            for item in history.get(draft_identity(approval), [])
            if (item.created_at, item.pk) < (approval.created_at, approval.pk)
        ]
        if before:
            found[approval.pk] = before[-1]
    return found


def campaign_approvals(campaign: Any, *, limit: int = 20) -> QuerySet:
    """The campaign's approval requests, pending ones first, each group newest first."""
    from django.db.models import BooleanField, Case, Value, When

    from ..models import ApprovalRequest, ApprovalStatus

    return (
        ApprovalRequest.objects.filter(campaign=campaign)
        .annotate(
            is_pending=Case(
                When(status=ApprovalStatus.PENDING, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by("-is_pending", "-created_at", "-id")[:limit]
    )


def approvals_visible_to(user: Any, *, ids: Iterable[int] | None = None) -> QuerySet:
    """Requests of the brands the user may see, and those in the queues they decide for a
    reviewer away (of these ``ids`` only, if given). Any other request does not exist for
    them (404)."""
    from governance import policies

    from ..models import ApprovalRequest

    visible = ApprovalRequest.objects.filter(
        Q(brand_id__in=policies.visible_brand_ids(user)) | policies.queue_scope(user)
    ).select_related("campaign", "brand", "decision", "decided_by", "claimed_by")
    return visible if ids is None else visible.filter(pk__in=list(ids))


def active_user_named(username: str) -> Any | None:
    """The active user with this name (a reviewer to hand an item to, or to delegate to)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=username, is_active=True).first()


def review_delegations_of(user: Any, *, limit: int = 10) -> tuple[QuerySet, QuerySet]:
    """The latest delegations the user gave (to colleagues) and received (from them)."""
    from governance.models import ReviewDelegation

    given = ReviewDelegation.objects.filter(reviewer=user).select_related("delegate")[:limit]
    received = ReviewDelegation.objects.filter(delegate=user).select_related("reviewer")[:limit]
    return given, received
