"""Who reviews what: claiming an item for review, handing it on (or releasing it), and
delegating one's reviews while away.

Every write here follows the lock order in ``governance.services``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.models import ReviewDelegation
from governance.services import audit_record

from ..domain.decisions import claim_is_active
from ..domain.status import AlreadyDecided
from ..models import ApprovalRequest, ApprovalStatus


def refuse_if_claimed_by_another(approval: ApprovalRequest, user: Any, now: Any) -> None:
    from django.conf import settings

    minutes = settings.CONTROLTOWER_CLAIM_MINUTES
    if approval.claimed_by_id not in (None, user.pk) and claim_is_active(
        approval.claimed_at, now, minutes=minutes
    ):
        raise NotPermitted(
            f"{approval.claimed_by.get_username()} is reviewing this item (since "
            f"{timezone.localtime(approval.claimed_at):%H:%M}); ask them, or an admin, to "
            "release or reassign it."
        )


def approval_claim(*, approval_id: int, user: Any) -> ApprovalRequest:
    """Take an item for review: others cannot decide it while the claim is fresh."""
    from governance import policies

    with transaction.atomic():
        approval = (
            ApprovalRequest.objects.select_for_update(no_key=True, of=("self",))
            .select_related("claimed_by")
            .get(pk=approval_id)
        )
        if approval.status != ApprovalStatus.PENDING:
            raise AlreadyDecided("This request is no longer waiting for a decision.")
        refusal = policies.approval_refusal(user, approval)
        if refusal:
            raise NotPermitted(refusal)
        now = timezone.now()
        refuse_if_claimed_by_another(approval, user, now)
        approval.claimed_by, approval.claimed_at = user, now
        approval.save(update_fields=["claimed_by", "claimed_at"])
        audit_record(
            actor=Actor.for_user(user),
            action="approval.claimed",
            target=approval,
            brand_id=approval.brand_id,
            campaign_id=approval.campaign_id,
        )
        # TRICKY: not pushed live: a pushed card has no viewer, so it would hide the
        # holder's own controls. Others asking to decide are told who holds it.
    return approval


def approval_reassign(*, approval_id: int, user: Any, to_user: Any | None) -> ApprovalRequest:
    """Hand a claimed item to another reviewer who may decide it (or release it, with
    ``to_user=None``). The holder or an admin may do this."""
    from governance import policies

    with transaction.atomic():
        approval = (
            ApprovalRequest.objects.select_for_update(no_key=True, of=("self",))
            .select_related("claimed_by")
            .get(pk=approval_id)
        )
        if approval.status != ApprovalStatus.PENDING:
            raise AlreadyDecided("This request is no longer waiting for a decision.")
        if approval.claimed_by_id != user.pk and not policies.is_admin(user):
            raise NotPermitted("Only the reviewer holding this item, or an admin, can hand it on.")
        if to_user is not None:
            refusal = policies.approval_refusal(to_user, approval)
            if refusal:
                raise NotPermitted(f"{to_user.get_username()} cannot take it: {refusal}")
        before = approval.claimed_by.get_username() if approval.claimed_by else ""
        approval.claimed_by = to_user
        approval.claimed_at = timezone.now() if to_user else None
        approval.save(update_fields=["claimed_by", "claimed_at"])
        audit_record(
            actor=Actor.for_user(user),
            action="approval.reassigned" if to_user else "approval.released",
            target=approval,
            brand_id=approval.brand_id,
            campaign_id=approval.campaign_id,
            data={"from": before, "to": to_user.get_username() if to_user else ""},
        )
        # TRICKY: not pushed live: a pushed card has no viewer, so it would hide the
        # holder's own controls. Others asking to decide are told who holds it.
    return approval


def review_delegate(
    *, reviewer: Any, delegate: Any, starts_at: Any, ends_at: Any
) -> ReviewDelegation:
    """While ``reviewer`` is away, ``delegate`` may decide what they could."""
    from datetime import timedelta

    if delegate is None or not delegate.is_active:
        raise DomainError("Choose an active colleague to delegate to.")
    if delegate.pk == reviewer.pk:
        raise DomainError("Delegate to someone else.")
    if ends_at <= starts_at:
        raise DomainError("The end must come after the start.")
    if ends_at - starts_at > timedelta(days=60):
        raise DomainError("Delegate for 60 days at most; set a new delegation after that.")
    with transaction.atomic():
        delegation = ReviewDelegation.objects.create(
            reviewer=reviewer, delegate=delegate, starts_at=starts_at, ends_at=ends_at
        )
        audit_record(
            actor=Actor.for_user(reviewer),
            action="review.delegated",
            target=delegation,
            data={
                "delegate": delegate.get_username(),
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
        )
    return delegation
