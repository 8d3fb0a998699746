"""Approving from Slack or email: signed, single-use, expiring links.

Lifecycle of a link:

1. The gate holds an action (``services.action_propose``) and calls
   ``approval_notify_reviewers`` in its transaction. Each person who may decide it
   (``policies.approval_reviewers``) is told in-app and by email with their own approve
   and reject links, bound to them; the brand's webhook gets one post whose links any
   eligible reviewer may follow.
2. A link is ``signing.dumps({"a": approval id, "d": approve|reject, "r": reviewer id or
   None, "n": nonce})``, salted and timestamped: changing a byte breaks the signature, and
   it expires after ``CONTROLTOWER_APPROVAL_LINK_HOURS``.
3. Following it (logged in: LoginRequiredMiddleware sends people to log in and back)
   shows the request's queue card and what the link will do. GET never decides — mail
   scanners prefetch links; the confirm button POSTs.
4. ``approval_link_use`` records the nonce (``ApprovalLinkUse``, unique) and decides
   through ``services.approval_decide`` in one transaction: the roles, the claim and
   exactly-once are enforced there. A second use of the link fails on the nonce; another
   link for a request already decided is told who decided it. A refused or failed
   decision rolls the nonce back, so the link still works for a valid retry.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from governance import policies
from governance.domain.actions import ActionType
from governance.domain.errors import DomainError, NotPermitted

from .models import ApprovalLinkUse, ApprovalRequest, LinkDecision

SALT = "approvals.link"
DECISIONS = (LinkDecision.APPROVE.value, LinkDecision.REJECT.value)


class LinkInvalid(DomainError):
    """The link cannot be used (any more). ``str(error)`` says why, for the person."""


class LinkTampered(LinkInvalid):
    pass


class LinkExpired(LinkInvalid):
    pass


class LinkUsed(LinkInvalid):
    def __init__(self, message: str, *, approval_id: int) -> None:
        super().__init__(message)
        self.approval_id = approval_id


class LinkNotYours(NotPermitted):
    pass


NOT_YOURS = (
    "This link was sent to another reviewer and works only for them. "
    "Open the request from your approval queue instead."
)


@dataclass(frozen=True)
class LinkedDecision:
    """What a valid, unused link says: decide ``approval`` this way, as this reviewer
    (None: any eligible reviewer)."""

    approval: ApprovalRequest
    decision: str
    reviewer_id: int | None
    nonce: str

    @property
    def approve(self) -> bool:
        return self.decision == LinkDecision.APPROVE


def link_hours() -> int:
    return int(getattr(settings, "CONTROLTOWER_APPROVAL_LINK_HOURS", 48))


def approval_link_token(*, approval_id: int, decision: str, reviewer_id: int | None) -> str:
    """A new signed token (with its own nonce) for one decision on one request."""
    if decision not in DECISIONS:
        raise ValueError(f"Unknown link decision “{decision}”.")
    data = {"a": approval_id, "d": decision, "r": reviewer_id, "n": secrets.token_urlsafe(16)}
    return signing.dumps(data, salt=SALT)


def approval_link_url(token: str) -> str:
    """The absolute address of a link (it leaves the app in an email or a Slack post)."""
    path = reverse("approvals:link", args=[token])
    return settings.CONTROLTOWER_BASE_URL.rstrip("/") + path


def approval_link_read(token: str) -> LinkedDecision:
    """Verify a token: signed by us, not expired, for a request that exists, not used.
    Raises a :class:`LinkInvalid` subclass saying which."""
    try:
        data = signing.loads(token, salt=SALT, max_age=timedelta(hours=link_hours()))
    except signing.SignatureExpired:
        hours = link_hours()
        raise LinkExpired(
            f"This link has expired: links work for {hours} hour{'s' if hours != 1 else ''}. "
            "Open the request from your approval queue instead."
        ) from None
    except signing.BadSignature:
        raise LinkTampered(
            "This link is not valid: it may have been cut short or changed. "
            "Open the request from your approval queue instead."
        ) from None
    approval_id, decision, reviewer_id, nonce = _fields(data)
    approval = (
        ApprovalRequest.objects.select_related("campaign", "brand", "decision", "decided_by")
        .filter(pk=approval_id)
        .first()
    )
    if approval is None:
        raise LinkInvalid("The request this link was for no longer exists.")
    use = _use_of(nonce)
    if use is not None:
        raise LinkUsed(_used_message(use), approval_id=approval.pk)
    return LinkedDecision(
        approval=approval, decision=decision, reviewer_id=reviewer_id, nonce=nonce
    )


def link_refusal(linked: LinkedDecision, user: Any) -> str | None:
    """Why ``user`` may not follow this link, or None: a link bound to a reviewer is theirs
    alone; beyond that, who may decide is ``policies.approval_refusal``'s answer."""
    if linked.reviewer_id is not None and linked.reviewer_id != user.pk:
        return NOT_YOURS
    return policies.approval_refusal(user, linked.approval)


def approval_link_use(*, token: str, user: Any, note: str = "") -> ApprovalRequest:
    """Decide the request a link is for, as ``user``, exactly once per link."""
    from .services import approval_decide

    with transaction.atomic():
        linked = approval_link_read(token)
        if linked.reviewer_id is not None and linked.reviewer_id != user.pk:
            raise LinkNotYours(NOT_YOURS)
        try:
            # A savepoint: a use racing this one waits on the unique nonce, then fails here.
            with transaction.atomic():
                ApprovalLinkUse.objects.create(
                    nonce=linked.nonce,
                    approval=linked.approval,
                    used_by=user,
                    decision=linked.decision,
                )
        except IntegrityError:
            use = _use_of(linked.nonce)
            message = _used_message(use) if use else "This link was already used."
            raise LinkUsed(message, approval_id=linked.approval.pk) from None
        # TRICKY: roles, the claim, "a reject needs a reason" and exactly-once are
        # approval_decide's; if it refuses, the nonce above rolls back with it.
        return approval_decide(
            approval_id=linked.approval.pk, user=user, approve=linked.approve, note=note
        )


def approval_notify_reviewers(approval: Any) -> None:
    """Tell the people who may decide a new request, in-app and by email, each with their
    own links; and post once to the brand's webhook with links for any of them. Runs in
    the gate's transaction: deliveries go out after commit."""
    from monitoring.services.notify import notify_people

    title = f"Waiting for you: {approval.summary}"
    url = reverse("approvals:queue")
    for person in policies.approval_reviewers(approval):
        notify_people(
            people=[person],
            campaign=approval.campaign,
            title=title,
            body=_message(approval, reviewer_id=person.pk),
            url=url,
            approval_id=approval.pk,
        )
    # The channel is shared: its links are bound to no one, so whoever follows one must
    # log in and be allowed to decide the request.
    notify_people(
        people=[],
        campaign=approval.campaign,
        title=title,
        body=_message(approval, reviewer_id=None),
        url=url,
        slack=True,
    )


def _message(approval: Any, *, reviewer_id: int | None) -> str:
    links = {
        decision: approval_link_url(
            approval_link_token(approval_id=approval.pk, decision=decision, reviewer_id=reviewer_id)
        )
        for decision in DECISIONS
    }
    by = f"agent {approval.requested_by_agent}" if approval.requested_by_agent else "a person"
    why = getattr(approval.decision, "reason", "") or "Sent to this queue by the delegation policy."
    until = timezone.localtime(timezone.now() + timedelta(hours=link_hours()))
    who = (
        "you alone"
        if reviewer_id is not None
        else f"any reviewer of the {approval.queue_role} queue"
    )
    return (
        f"{ActionType(approval.action_type).label} for “{approval.campaign.name}” "
        f"({approval.brand.name}), proposed by {by}, in the {approval.queue_role} queue.\n"
        f"Why it is here: {why}\n\n"
        f"Approve: {links['approve']}\n"
        f"Reject (you will be asked why): {links['reject']}\n\n"
        f"Each link works once, for {who}, until {until:%Y-%m-%d %H:%M}. "
        "You will see the request and confirm before anything is decided."
    )


def _fields(data: Any) -> tuple[int, str, int | None, str]:
    # Signed by us, so well formed unless the format changed; checked all the same.
    try:
        approval_id, decision, reviewer_id, nonce = data["a"], data["d"], data["r"], data["n"]
    except (KeyError, TypeError):
        raise LinkTampered("This link is not valid.") from None
    if (
        not isinstance(approval_id, int)
        or decision not in DECISIONS
        or not (reviewer_id is None or isinstance(reviewer_id, int))
        or not isinstance(nonce, str)
        or not nonce
    ):
        raise LinkTampered("This link is not valid.")
    return approval_id, decision, reviewer_id, nonce


def _use_of(nonce: str) -> ApprovalLinkUse | None:
    return ApprovalLinkUse.objects.select_related("used_by").filter(nonce=nonce).first()


def _used_message(use: ApprovalLinkUse) -> str:
    verb = "approved" if use.decision == LinkDecision.APPROVE else "rejected"
    return (
        f"This link was already used: {use.used_by.get_username()} {verb} the request with "
        f"it on {timezone.localtime(use.used_at):%Y-%m-%d at %H:%M}. A link works once."
    )
