"""The tower's websocket: authorise on connect, join one group per visible brand, forward
the fragments broadcast to those groups. It never writes."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from approvals import policies

from .realtime import brand_group

# Close codes in the 4000 range (application-defined); htmx does not retry them.
UNAUTHENTICATED = 4401
FORBIDDEN = 4403

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
        brand_ids = await database_sync_to_async(policies.visible_brand_ids)(user)
        if not brand_ids:
            await self.close(code=FORBIDDEN)
            return
        self.tower_groups = [brand_group(pk) for pk in brand_ids]
        for group in self.tower_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "tower_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Clients have nothing to say on this socket; answer clearly and change nothing.
        await self.send(text_data=IGNORED_MESSAGE)

    async def tower_update(self, event: dict) -> None:
        await self.send(text_data=event["html"])
