"""Approving from Slack or email: signed, single-use, expiring links.

Lifecycle of a link:

1. The gate holds an action (``gate.action_propose``) and calls
   ``approval_notify_reviewers`` in its transaction. Each person who may decide it
   (``policies.approval_reviewers``) is told in-app and by email with their own approve
   and reject links, bound to them; the brand's webhook gets one post whose links any
   eligible reviewer may follow. Monitoring writes and sends the notifications: this
   module announces them (``events.people_to_notify``), in the gate's transaction.
2. A link is ``signing.dumps({"a": approval id, "d": approve|reject, "r": reviewer id or
   None, "n": nonce})``, salted and timestamped (``approvals.domain.links``): changing a
   byte breaks the signature, and it expires after ``CONTROLTOWER_APPROVAL_LINK_HOURS``.
3. Following it (logged in: LoginRequiredMiddleware sends people to log in and back)
   shows the request's queue card and what the link will do
   (``approvals.selectors.approval_link_read``). GET never decides — mail scanners
   prefetch links; the confirm button POSTs.
4. ``approval_link_use`` records the nonce (``ApprovalLinkUse``, unique) and decides
   through ``decisions.approval_decide`` in one transaction: the roles, the claim and
   exactly-once are enforced there. A second use of the link fails on the nonce; another
   link for a request already decided is told who decided it. A refused or failed
   decision rolls the nonce back, so the link still works for a valid retry.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from governance import events, policies
from governance.domain.actions import ActionType

from ..domain.links import DECISIONS, NOT_YOURS, SALT, LinkNotYours, LinkUsed
from ..models import ApprovalLinkUse, ApprovalRequest
from ..selectors import approval_link_read, link_hours, link_use_of, link_used_message
from .decisions import approval_decide


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


def approval_link_use(*, token: str, user: Any, note: str = "") -> ApprovalRequest:
    """Decide the request a link is for, as ``user``, exactly once per link."""
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
            use = link_use_of(linked.nonce)
            message = link_used_message(use) if use else "This link was already used."
            raise LinkUsed(message, approval_id=linked.approval.pk) from None
        # TRICKY: roles, the claim, "a reject needs a reason" and exactly-once are
        # approval_decide's; if it refuses, the nonce above rolls back with it.
        return approval_decide(
            approval_id=linked.approval.pk, user=user, approve=linked.approve, note=note
        )


def approval_notify_reviewers(approval: Any) -> None:
    """Tell the people who may decide a new request, in-app and by email, each with their
    own links; and post once to the brand's webhook with links for any of them. Runs in
    the gate's transaction: monitoring writes the notifications with it
    (``events.people_to_notify``), and deliveries go out after commit."""
    title = f"Waiting for you: {approval.summary}"
    url = reverse("approvals:queue")
    for person in policies.approval_reviewers(approval):
        events.announce(
            events.people_to_notify,
            user_ids=[person.pk],
            campaign_id=approval.campaign_id,
            title=title,
            body=_message(approval, reviewer_id=person.pk),
            url=url,
            approval_id=approval.pk,
        )
    # The channel is shared: its links are bound to no one, so whoever follows one must
    # log in and be allowed to decide the request.
    events.announce(
        events.people_to_notify,
        user_ids=[],
        campaign_id=approval.campaign_id,
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
