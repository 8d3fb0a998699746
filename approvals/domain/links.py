"""Signed approval links, the pure part: what a token holds, and why a link is refused.

A link is ``signing.dumps({"a": approval id, "d": approve|reject, "r": reviewer id or
None, "n": nonce})``, salted with :data:`SALT` and timestamped. Making one and using one
are ``approvals.services.links``; reading one is ``approvals.selectors.approval_link_read``.
Each refusal is a :class:`LinkInvalid` subclass whose message tells the person what to do.
"""

from __future__ import annotations

from typing import Any

from governance.domain.errors import DomainError, NotPermitted

SALT = "approvals.link"
#: The decisions a link can carry (``approvals.models.LinkDecision``).
APPROVE, REJECT = "approve", "reject"
DECISIONS = (APPROVE, REJECT)

NOT_YOURS = (
    "This link was sent to another reviewer and works only for them. "
    "Open the request from your approval queue instead."
)


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


def expired_message(hours: int) -> str:
    return (
        f"This link has expired: links work for {hours} hour{'s' if hours != 1 else ''}. "
        "Open the request from your approval queue instead."
    )


TAMPERED = (
    "This link is not valid: it may have been cut short or changed. "
    "Open the request from your approval queue instead."
)


def link_fields(data: Any) -> tuple[int, str, int | None, str]:
    """``(approval id, decision, reviewer id or None, nonce)`` from a verified token."""
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
