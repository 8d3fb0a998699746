"""The live socket (every page opens one): authorise on connect, join one group per visible
brand and one per (brand, queue) the user works, through the process's fan-out hub (see
``controltower.fanout``), and never write."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from approvals import policies

from .fanout import hub
from .realtime import brand_group, queue_group

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
        brand_ids, roles = await database_sync_to_async(_scope)(user)
        if not brand_ids:
            await self.close(code=FORBIDDEN)
            return
        await self.accept()
        self.tower_groups = [brand_group(pk) for pk in brand_ids] + [
            queue_group(pk, role) for pk in brand_ids for role in roles
        ]
        await hub().join(self.tower_groups, id(self), self.base_send)
        # TRICKY: anything committed between rendering the page and opening this socket
        # was pushed to nobody. The page says where the audit chain stood; if it has
        # moved since, ask the page to fetch its live regions once.
        if await database_sync_to_async(_moved_since)(self.scope.get("query_string", b"")):
            await self.send(text_data=RESYNC_MESSAGE)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "tower_groups"):
            await hub().leave(self.tower_groups, id(self))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Clients have nothing to say on this socket; answer clearly and change nothing.
        await self.send(text_data=IGNORED_MESSAGE)


def _scope(user) -> tuple[list[int], list[str]]:
    return policies.visible_brand_ids(user), [role.value for role in policies.roles_of(user)]


def _moved_since(query_string: bytes) -> bool:
    from urllib.parse import parse_qs

    from approvals.models import AuditChainHead

    values = parse_qs(query_string.decode("latin-1")).get("since", [])
    if not values:
        return False  # a client that keeps no marker (pages always send one)
    if not values[0].isdigit():
        return True  # a mangled marker: resync to be safe
    head = AuditChainHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    return head > int(values[0])
