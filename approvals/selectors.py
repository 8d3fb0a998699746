"""Reads of the approvals app: the queues, their counts, cards, policies in force."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet


def queue_for_user(user: Any, *, decided: bool = False, limit: int | None = 100) -> QuerySet:
    """Approval requests in the queues of the user's roles, for brands they may see:
    pending ones oldest first (the SLA clock), or the most recently decided."""
    from governance import policies

    from .models import ApprovalRequest, ApprovalStatus

    items = ApprovalRequest.objects.filter(policies.queue_scope(user)).select_related(
        "campaign", "brand", "decision", "decided_by", "claimed_by"
    )
    if decided:
        return items.exclude(status=ApprovalStatus.PENDING).order_by("-decided_at")[:limit]
    return items.filter(status=ApprovalStatus.PENDING).order_by("created_at", "id")[:limit]


def approval_card(approval_id: int) -> dict[str, Any] | None:
    """One queue card as every member of its queue sees it (for live pushes). Whether the
    viewer may decide is checked again, per person, when they press a button."""
    from .cards import card
    from .models import ApprovalRequest

    approval = (
        ApprovalRequest.objects.select_related("campaign", "brand", "decision", "decided_by")
        .filter(pk=approval_id)
        .first()
    )
    if approval is None:
        return None
    return card(approval, can_decide=True, previous=previous_versions([approval]).get(approval.pk))


def queue_counts_for_user(user: Any) -> dict[tuple[int, str], int]:
    """Pending items per (brand, queue) the user works — the pieces of the nav count that
    live updates replace one at a time."""
    from governance import policies

    from .models import ApprovalRequest, ApprovalStatus

    roles = [role.value for role in policies.roles_of(user)]
    brand_ids = policies.visible_brand_ids(user)
    counts = dict.fromkeys(((b, r) for b in brand_ids for r in roles), 0)
    if not counts:
        return counts
    pending = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, brand_id__in=brand_ids)
    # An item counts in its own queue and, once escalated, in the tier it went to.
    for field in ("queue_role", "escalated_to"):
        rows = (
            pending.filter(**{f"{field}__in": roles})
            .order_by()
            .values_list("brand_id", field)
            .annotate(n=Count("pk"))
        )
        for brand_id, role, n in rows:
            counts[(brand_id, role)] += n
    return counts


def queue_group_count(brand_id: int, role: str) -> int:
    from .models import ApprovalRequest, ApprovalStatus

    return ApprovalRequest.objects.filter(
        Q(queue_role=role) | Q(escalated_to=role), status=ApprovalStatus.PENDING, brand_id=brand_id
    ).count()


def policy_in_force(brand_id: int, campaign_id: int | None = None) -> tuple[Any, Any]:
    """The active policy row for a brand — or for one campaign, whose own override wins
    over its brand's — and the policy it means (the default when there is no row)."""
    from dataclasses import replace

    from .domain.policy import DEFAULT_POLICY, policy_from_json
    from .models import DelegationPolicy, PolicyStatus

    active = DelegationPolicy.objects.filter(brand_id=brand_id, status=PolicyStatus.ACTIVE)
    row = active.filter(campaign_id=campaign_id).first() if campaign_id else None
    row = row or active.filter(campaign__isnull=True).first()
    if row is None:
        return None, replace(DEFAULT_POLICY, version=0)
    return row, policy_from_json(row.version, row.rules)


def policy_impact(
    brand_id: int, proposed: Any, *, days: int = 30, campaign_id: int | None = None
) -> Any:
    """What ``proposed`` would have decided for the brand's (or one campaign's) agent
    actions of the last ``days`` days, against the policy in force there."""
    from datetime import timedelta

    from django.utils import timezone

    from .domain.impact import facts_from_json, simulate
    from .models import PolicyDecisionRecord

    _, current = policy_in_force(brand_id, campaign_id)
    since = timezone.now() - timedelta(days=days)
    decisions = PolicyDecisionRecord.objects.filter(brand_id=brand_id, decided_at__gte=since)
    if campaign_id:
        decisions = decisions.filter(campaign_id=campaign_id)
    facts = decisions.exclude(facts={}).values_list("facts", flat=True).iterator(chunk_size=2000)
    return simulate((facts_from_json(f) for f in facts), current=current, proposed=proposed)


def previous_versions(approvals: list[Any]) -> dict[int, Any]:
    """For each request, the one proposed just before it for the same campaign and action
    (the version a revision replaces), in one query for the whole page."""
    from .models import ApprovalRequest

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

    from .models import ApprovalRequest, ApprovalStatus

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
