"""Process-local fan-out of tower updates to the sockets of one server process.

Why not plain Channels groups: with one group membership per socket, every update wakes
every consumer through its own channel queue, receive loop and dispatch — about 200 µs
of CPU per socket per message, which alone exceeds the 150 ms budget at 1,000 viewers.
Here each server process subscribes ONE channel to each brand group it has viewers for;
an update arrives once per process and the already-rendered frame is written to the
member sockets directly. The scoping is unchanged: a socket is a member only of the
groups its user was authorised for on connect (``TowerConsumer.connect``).

Lifecycle: ``join`` on connect (subscribes the process to a group on its first viewer),
``leave`` on disconnect (unsubscribes after its last), one listener task per event loop.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
#: A socket's handler for control messages (``access.changed``): not forwarded, acted on.
Control = Callable[[dict[str, Any]], Awaitable[None]]

#: Messages that tell sockets to re-check what their user may see, never sent on.
CONTROL_TYPES = frozenset({"access.changed"})

#: One hub per event loop (a server process has one; each async test has its own).
_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TowerHub] = weakref.WeakKeyDictionary()


class TowerHub:
    def __init__(self) -> None:
        self.members: dict[str, dict[int, Send]] = defaultdict(dict)
        self.controls: dict[int, Control] = {}
        self.tasks: set[asyncio.Task] = set()
        self.channel: str | None = None
        self.listener: asyncio.Task | None = None
        self.lock = asyncio.Lock()

    async def join(
        self, groups: Iterable[str], key: int, send: Send, control: Control | None = None
    ) -> None:
        layer = get_channel_layer()
        if control is not None:
            self.controls[key] = control
        async with self.lock:
            if self.channel is None:
                self.channel = await layer.new_channel("tower-hub.")
                self.listener = asyncio.create_task(self._listen(layer, self.channel))
            for group in groups:
                if not self.members[group]:
                    await layer.group_add(group, self.channel)
                self.members[group][key] = send

    async def leave(self, groups: Iterable[str], key: int, *, closing: bool = True) -> None:
        layer = get_channel_layer()
        if closing:
            self.controls.pop(key, None)
        async with self.lock:
            for group in groups:
                self.members[group].pop(key, None)
                if not self.members[group] and self.channel is not None:
                    del self.members[group]
                    await layer.group_discard(group, self.channel)

    async def _listen(self, layer: Any, channel: str) -> None:
        while True:
            message = await layer.receive(channel)
            if message.get("type") in CONTROL_TYPES:
                keys = list(self.members.get(message.get("group", ""), {}))
                for key in keys:
                    control = self.controls.get(key)
                    if control is not None:
                        # Kept until done: a task nobody references may be collected.
                        task = asyncio.create_task(control(message))
                        self.tasks.add(task)
                        task.add_done_callback(self.tasks.discard)
                continue
            members = list(self.members.get(message.get("group", ""), {}).values())
            if not members:
                continue
            frame = {"type": "websocket.send", "text": message["html"]}
            # Concurrently, so one slow client's full buffer never holds up the others.
            results = await asyncio.gather(
                *(send(frame) for send in members), return_exceptions=True
            )
            for result in results:
                if isinstance(result, Exception):
                    logger.debug("A tower socket could not take an update: %r", result)


def hub() -> TowerHub:
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = TowerHub()
    return _hubs[loop]
