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


def previous_versions(approvals: list[Any]) -> dict[int, Any]:
    """For each request, the one proposed just before it for the same campaign and action
    (the version a revision replaces), in one query for the whole page."""
    from ..models import ApprovalRequest

    if not approvals:
        return {}
    earlier = (
        ApprovalRequest.objects.filter(
            campaign_id__in={a.campaign_id for a in approvals},
            action_type__in={a.action_type for a in approvals},
        )
        .only("id", "campaign_id", "action_type", "created_at", "payload", "status")
        .order_by("created_at", "id")
    )
    history: dict[tuple[int, str], list[Any]] = {}
    for item in earlier:
        history.setdefault((item.campaign_id, item.action_type), []).append(item)
    found = {}
    for approval in approvals:
        before = [
            item
            for item in history.get((approval.campaign_id, approval.action_type), [])
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
