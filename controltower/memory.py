"""Request bodies are let go of once handled: a garbage collection after every few MiB of
them, around the whole HTTP app.

Why: every request is a reference cycle — Django's (the lazy ``request.user`` holds the
request, the message storage holds the request) and REST framework's (``Request`` ↔
its parser context, view ↔ response ↔ renderer context) — so what it holds, the body and
everything parsed from it, is freed only by the cyclic garbage collector, never when the
response has gone. The collector runs after so many *objects* have been allocated, not
bytes, and a telemetry batch is a few big objects: 25,000 events (6 MiB of JSON, ~14 MiB
parsed) barely move its counters. In the web process it runs rarely anyway (the
thresholds are raised in ``controltower.asgi`` for live-update latency) and never while
idle. So batch after batch stayed in memory until a collection came round: posting
200,000 events in batches of 25,000 took the web process from 92 MiB to 282 MiB, and the
heap it grew stayed (docs/PERFORMANCE.md, "Memory under sustained load").

Counting the bytes of request bodies and collecting after every ``every_bytes`` (4 MiB by
default: ``CONTROLTOWER_GC_EVERY_BODY_BYTES``) bounds what bodies can hold to about that
much; a full collection costs a few ms here (everything loaded at start-up is frozen out
of the collector's sight). On glibc the memory freed is then handed back to the system
(``malloc_trim``), so the process's RSS says what it really holds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class CollectAfterBodies:
    """ASGI middleware: a full garbage collection (and a trim of the C heap) once the
    HTTP requests that have finished since the last one brought ``every_bytes`` of body."""

    def __init__(self, app: Any, *, every_bytes: int) -> None:
        self.app = app
        self.every_bytes = every_bytes
        self.pending = 0  # body bytes of requests finished since the last collection

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.every_bytes <= 0:
            await self.app(scope, receive, send)
            return
        received = 0

        async def counting() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return message

        try:
            await self.app(scope, counting, send)
        finally:
            # The request is over: what it held is unreachable now, cycles and all.
            self.pending += received
            if self.pending >= self.every_bytes:
                self.collect()

    def collect(self) -> None:
        bodies, self.pending = self.pending, 0
        started = time.perf_counter()
        found = gc.collect()
        trimmed = trim_c_heap()
        logger.debug(
            "Collected %d objects after %.1f MiB of request bodies in %.1f ms%s",
            found,
            bodies / 2**20,
            (time.perf_counter() - started) * 1000,
            " (C heap trimmed)" if trimmed else "",
        )


_libc: Any = None


def trim_c_heap() -> bool:
    """Give the C allocator's free memory back to the system (glibc ``malloc_trim``);
    False where there is no such call (musl, macOS): nothing to do there."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _libc = False
    if not _libc:
        return False
    _libc.malloc_trim(0)
    return True
