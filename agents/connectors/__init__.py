"""Where published work goes: one connector per destination, all with the same shape.

The default is the sandbox market (no network); real ad platforms plug in here. Campaign
email goes to the brand's mailable contacts through the email connector when
``CONTROLTOWER_CAMPAIGN_EMAIL`` is on (off by default, so the demo keeps publishing email
to the sandbox market). Publishing is idempotent by key, so a run retried after a crash
between publishing and committing cannot place the same content twice.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.conf import settings


class Connector(Protocol):
    name: str

    def publish(self, *, key: str, channel: str, headline: str, body: str) -> str:
        """Place content; return the destination's id for it. Same key → same id."""
        ...


def connector_for(channel: str, *, campaign: Any = None) -> Connector:
    """The connector for a channel. ``campaign``: the campaign the content belongs to,
    which a connector that reaches the brand's own audience (email) needs."""
    if channel == "email" and getattr(settings, "CONTROLTOWER_CAMPAIGN_EMAIL", False):
        from .email import EmailConnector

        if campaign is None:
            raise ValueError("Campaign email needs the campaign (its brand's contacts).")
        return EmailConnector(campaign=campaign)

    from .sandbox import SandboxMarket

    return SandboxMarket()


_CONTENT_PREFIX = "content:"


def content_key(content_id: int) -> str:
    """The idempotency key a content variant is published under (distribution's)."""
    return f"{_CONTENT_PREFIX}{content_id}"


def content_id_from_key(key: str) -> int:
    """The content variant a key names; ValueError for any other key."""
    rest = key.removeprefix(_CONTENT_PREFIX)
    if rest == key or not rest.isdigit():
        raise ValueError(f"Not a content key: “{key}”.")
    return int(rest)
