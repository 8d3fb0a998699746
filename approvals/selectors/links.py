"""Reading a signed approval link: what it says, whether it still works, and whether this
person may follow it. Making and using links is ``approvals.services.links``; the token's
format and the refusals are ``approvals.domain.links``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils import timezone

from ..domain.links import (
    APPROVE,
    NOT_YOURS,
    SALT,
    TAMPERED,
    LinkExpired,
    LinkInvalid,
    LinkTampered,
    LinkUsed,
    expired_message,
    link_fields,
)


@dataclass(frozen=True)
class LinkedDecision:
    """What a valid, unused link says: decide ``approval`` this way, as this reviewer
    (None: any eligible reviewer)."""

    approval: Any
    decision: str
    reviewer_id: int | None
    nonce: str

    @property
    def approve(self) -> bool:
        return self.decision == APPROVE


def link_hours() -> int:
    return int(getattr(settings, "CONTROLTOWER_APPROVAL_LINK_HOURS", 48))


def approval_link_read(token: str) -> LinkedDecision:
    """Verify a token: signed by us, not expired, for a request that exists, not used.
    Raises a :class:`LinkInvalid` subclass saying which."""
    from ..models import ApprovalRequest

    try:
        data = signing.loads(token, salt=SALT, max_age=timedelta(hours=link_hours()))
    except signing.SignatureExpired:
        raise LinkExpired(expired_message(link_hours())) from None
    except signing.BadSignature:
        raise LinkTampered(TAMPERED) from None
    approval_id, decision, reviewer_id, nonce = link_fields(data)
    approval = (
        ApprovalRequest.objects.select_related("campaign", "brand", "decision", "decided_by")
        .filter(pk=approval_id)
        .first()
    )
    if approval is None:
        raise LinkInvalid("The request this link was for no longer exists.")
    use = link_use_of(nonce)
    if use is not None:
        raise LinkUsed(link_used_message(use), approval_id=approval.pk)
    return LinkedDecision(
        approval=approval, decision=decision, reviewer_id=reviewer_id, nonce=nonce
    )


def link_refusal(linked: LinkedDecision, user: Any) -> str | None:
    """Why ``user`` may not follow this link, or None: a link bound to a reviewer is theirs
    alone; beyond that, who may decide is ``policies.approval_refusal``'s answer."""
    from governance import policies

    if linked.reviewer_id is not None and linked.reviewer_id != user.pk:
        return NOT_YOURS
    return policies.approval_refusal(user, linked.approval)


def link_use_of(nonce: str) -> Any | None:
    """The use of the link with this nonce (an ``ApprovalLinkUse``), if it was used."""
    from ..models import ApprovalLinkUse

    return ApprovalLinkUse.objects.select_related("used_by").filter(nonce=nonce).first()


def link_used_message(use: Any) -> str:
    verb = "approved" if use.decision == APPROVE else "rejected"
    return (
        f"This link was already used: {use.used_by.get_username()} {verb} the request with "
        f"it on {timezone.localtime(use.used_at):%Y-%m-%d at %H:%M}. A link works once."
    )
