"""The live socket (every page opens one): authorise on connect, join one group per visible
brand and one per (brand, queue) the user works — plus, on a campaign's page, that
campaign's group if the user may see it — through the process's fan-out hub (see
``controltower.fanout``), and never write."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from approvals import policies

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
        self.tower_groups = [
            user_group(user.pk),
            *(brand_group(pk) for pk in brand_ids),
            *(queue_group(pk, role) for pk in brand_ids for role in roles),
        ]
        if campaign_id is not None:
            self.tower_groups.append(campaign_group(campaign_id))
        await hub().join(self.tower_groups, id(self), self.base_send)
        # TRICKY: anything committed between rendering the page and opening this socket
        # was pushed to nobody. The page says where the audit chain stood; if it has
        # moved since, ask the page to fetch its live regions once.
        if await database_sync_to_async(_moved_since)(query_string):
            await self.send(text_data=RESYNC_MESSAGE)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "tower_groups"):
            await hub().leave(self.tower_groups, id(self))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Clients have nothing to say on this socket; answer clearly and change nothing.
        await self.send(text_data=IGNORED_MESSAGE)


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

    from approvals.models import AuditChainHead

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
