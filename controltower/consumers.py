"""The live socket (every page opens one): authorise on connect, join one group per visible
brand and one per (brand, queue) the user works — plus, on a campaign's page, that
campaign's group if the user may see it — through the process's fan-out hub (see
``controltower.fanout``), and never write."""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from governance import policies

from .fanout import hub
from .realtime import brand_group, campaign_group, queue_group, user_group

# Close codes in the 4000 range (application-defined); htmx does not retry them.
UNAUTHENTICATED = 4401
FORBIDDEN = 4403

RESYNC_MESSAGE = '<div id="live-resync" hx-swap-oob="true" hidden data-resync="1"></div>'

IGNORED_MESSAGE = (
    '<div id="tower-notice" hx-swap-oob="true" role="status">'
    "This live connection only sends updates; the message was ignored.</div>"
)


class TowerConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        query_string = self.scope.get("query_string", b"")
        brand_ids, roles, campaign_id = await database_sync_to_async(_scope)(user, query_string)
        if not brand_ids:
            await self.close(code=FORBIDDEN)
            return
        await self.accept()
        self.tower_groups = _groups(user.pk, brand_ids, roles, campaign_id)
        await hub().join(self.tower_groups, id(self), self.base_send, self._access_changed)
        # A session that runs out closes the socket too: checked again when it expires.
        expiry = await database_sync_to_async(_seconds_left)(self.scope)
        if expiry is not None:
            self._expiry = asyncio.get_running_loop().call_later(
                expiry + 0.5, lambda: asyncio.ensure_future(self._access_changed({}))
            )
        # TRICKY: anything committed between rendering the page and opening this socket
        # was pushed to nobody. The page says where the audit chain stood; if it has
        # moved since, ask the page to fetch its live regions once.
        if await database_sync_to_async(_moved_since)(query_string):
            await self.send(text_data=RESYNC_MESSAGE)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "_expiry", None) is not None:
            self._expiry.cancel()
        if hasattr(self, "tower_groups"):
            await hub().leave(self.tower_groups, id(self))

    async def _access_changed(self, message: dict) -> None:
        """What this user may see changed (an assignment, a role, a log-out, a
        deactivation, or the session ran out): keep only the groups still allowed, or
        close. TRICKY: the groups are left *before* the close frame goes out, so not
        one more update reaches a socket that lost its access."""
        allowed = await database_sync_to_async(_current_scope)(self.scope)
        if not hasattr(self, "tower_groups"):
            return
        if allowed is None:
            await hub().leave(self.tower_groups, id(self))
            self.tower_groups = []
            await self.close(code=UNAUTHENTICATED)
            return
        user_id, brand_ids, roles, campaign_id = allowed
        wanted = _groups(user_id, brand_ids, roles, campaign_id)
        gone = [g for g in self.tower_groups if g not in wanted]
        new = [g for g in wanted if g not in self.tower_groups]
        if gone:
            await hub().leave(gone, id(self), closing=False)
        if new:
            await hub().join(new, id(self), self.base_send, self._access_changed)
        self.tower_groups = wanted

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Clients have nothing to say on this socket; answer clearly and change nothing.
        await self.send(text_data=IGNORED_MESSAGE)


def _groups(
    user_id: int, brand_ids: list[int], roles: list[str], campaign_id: int | None
) -> list[str]:
    groups = [
        user_group(user_id),
        *(brand_group(pk) for pk in brand_ids),
        *(queue_group(pk, role) for pk in brand_ids for role in roles),
    ]
    if campaign_id is not None:
        groups.append(campaign_group(campaign_id))
    return groups


def _current_scope(scope) -> tuple[int, list[int], list[str], int | None] | None:
    """What the socket's user may see *now*, read afresh: None when its session is gone
    (logged out, expired) or the user may no longer sign in."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import get_user_model

    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore

    user = scope.get("user")
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    if user is None or not user.is_authenticated or not key:
        return None
    stored = SessionStore(session_key=key).load()  # {} once expired or flushed
    if str(stored.get("_auth_user_id", "")) != str(user.pk):
        return None
    fresh = get_user_model().objects.filter(pk=user.pk, is_active=True).first()
    if fresh is None:
        return None
    brand_ids, roles, campaign_id = _scope(fresh, scope.get("query_string", b""))
    if not brand_ids:
        return None
    return fresh.pk, brand_ids, roles, campaign_id


def _seconds_left(scope) -> float | None:
    session = scope.get("session")
    if session is None or not getattr(session, "session_key", None):
        return None
    from django.utils import timezone

    return max(0.0, (session.get_expiry_date() - timezone.now()).total_seconds())


def _scope(user, query_string: bytes) -> tuple[list[int], list[str], int | None]:
    return (
        policies.visible_brand_ids(user),
        [role.value for role in policies.roles_of(user)],
        _visible_campaign(user, query_string),
    )


def _visible_campaign(user, query_string: bytes) -> int | None:
    """The campaign the page follows (``campaign=<id>``), if the user may see it. A
    campaign they may not see (or a mangled id) joins nothing, and says nothing about
    whether it exists: the socket carries on with what the user may see."""
    from urllib.parse import parse_qs

    from campaigns.selectors import campaigns_for_user

    values = parse_qs(query_string.decode("latin-1")).get("campaign", [])
    if not values or not _is_number(values[0]):
        return None
    campaign_id = int(values[0])
    return campaign_id if campaigns_for_user(user).filter(pk=campaign_id).exists() else None


def _moved_since(query_string: bytes) -> bool:
    from urllib.parse import parse_qs

    from governance.models import AuditChainHead

    values = parse_qs(query_string.decode("latin-1")).get("since", [])
    if not values:
        return False  # a client that keeps no marker (pages always send one)
    if not _is_number(values[0]):
        return True  # a mangled marker: resync to be safe
    head = AuditChainHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    return head > int(values[0])


def _is_number(value: str) -> bool:
    # TRICKY: not str.isdigit(), which also accepts "²" (and int() then raises).
    return value.isascii() and value.isdigit() and len(value) <= 18
