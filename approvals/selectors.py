"""Reads of the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from .models import AuditEvent


def audit_chain_links(*, chunk_size: int = 2000) -> Iterator[tuple[int, str, str, dict[str, Any]]]:
    """Every event as ``(seq, prev_hash, hash, hashed content)``, in chain order, streamed."""
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        yield event.seq, event.prev_hash, event.hash, event.hashed_content()


def queue_for_user(user: Any, *, decided: bool = False, limit: int = 100) -> QuerySet:
    """Approval requests in the queues of the user's roles, for brands they may see:
    pending ones oldest first (the SLA clock), or the most recently decided."""
    from . import policies
    from .models import ApprovalRequest, ApprovalStatus

    roles = [role.value for role in policies.roles_of(user)]
    items = ApprovalRequest.objects.filter(
        queue_role__in=roles, brand_id__in=policies.visible_brand_ids(user)
    ).select_related("campaign", "brand", "decision", "decided_by")
    if decided:
        return items.exclude(status=ApprovalStatus.PENDING).order_by("-decided_at")[:limit]
    return items.filter(status=ApprovalStatus.PENDING).order_by("created_at", "id")[:limit]


def queue_count(user: Any) -> int:
    from . import policies
    from .models import ApprovalRequest, ApprovalStatus

    roles = [role.value for role in policies.roles_of(user)]
    if not roles:
        return 0
    return ApprovalRequest.objects.filter(
        status=ApprovalStatus.PENDING,
        queue_role__in=roles,
        brand_id__in=policies.visible_brand_ids(user),
    ).count()
