"""What a request held is let go of once its bodies add up (controltower/memory.py).

Every request is a reference cycle (Django's and REST framework's), so what it holds is
freed only by the garbage collector, whose counters a few big objects barely move: batch
after batch of telemetry stayed in the web process's memory (issue 15.7). The stand-in
app below holds each body in a cycle, as a request does; the collector is off, so only
the middleware's own collection can free it.
"""

import asyncio
import gc
import weakref

import pytest
from django.conf import settings

from controltower.memory import CollectAfterBodies, trim_c_heap


class Held:
    """A request's stand-in: a cycle holding its body."""


def holding_app(kept: list):
    async def app(scope, receive, send):
        held = Held()
        held.me = held
        held.body = b""
        while True:
            message = await receive()
            held.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        kept.append(weakref.ref(held))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def call(app, body: bytes, *, kind: str = "http", chunks: int = 1) -> None:
    size = max(1, len(body) // chunks)
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        pass

    asyncio.run(app({"type": kind, "path": "/api/v1/telemetry/events"}, receive, send))


@pytest.fixture
def collector_off():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def test_the_requests_cycles_are_freed_once_their_bodies_add_up(collector_off):
    kept: list = []
    app = CollectAfterBodies(holding_app(kept), every_bytes=1000)

    call(app, b"x" * 600)
    assert kept[0]() is not None, "under the threshold: left to the collector"
    assert app.pending == 600

    call(app, b"y" * 600, chunks=3)  # a chunked body counts whole
    assert [ref() for ref in kept] == [None, None], "1,200 bytes: both collected"
    assert app.pending == 0


def test_one_big_body_is_let_go_of_at_once(collector_off):
    kept: list = []
    app = CollectAfterBodies(holding_app(kept), every_bytes=1000)

    call(app, b"z" * 5000)

    assert kept[0]() is None


def test_other_connections_and_a_zero_threshold_are_left_alone(collector_off):
    kept: list = []
    off = CollectAfterBodies(holding_app(kept), every_bytes=0)
    call(off, b"x" * 5000)
    assert kept[-1]() is not None and off.pending == 0

    sockets = CollectAfterBodies(holding_app(kept), every_bytes=1000)
    call(sockets, b"x" * 5000, kind="websocket")
    assert kept[-1]() is not None and sockets.pending == 0


def test_the_served_app_collects_after_request_bodies():
    from controltower.asgi import application

    http = application.application_mapping["http"]

    assert isinstance(http, CollectAfterBodies)
    assert http.every_bytes == settings.CONTROLTOWER_GC_EVERY_BODY_BYTES == 4 * 2**20


def test_trimming_the_c_heap_is_harmless_wherever_it_runs():
    assert trim_c_heap() in (True, False)
