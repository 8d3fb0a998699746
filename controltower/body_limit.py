"""Every HTTP request body is bounded before Django sees it, chunked or not.

Django reads a body only up to its ``Content-Length``: a chunked request (no length)
reached the views *empty*, and Django's ASGI handler first spooled all of it, however
big, to a temporary file (an outside probe sent 50 MB). This middleware, around the
whole ASGI app:

* refuses a declared ``Content-Length`` over the limit at once, reading nothing;
* reads a chunked body up to the limit (413 the moment it is passed), then hands it to
  Django with its real length, so it is neither empty nor unbounded.

Answers are JSON under ``/api/`` (the API's one error shape), plain text elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BodyLimit:
    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await self._too_big(scope, send)
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._too_big(scope, send)
                return
            if not message.get("more_body", False):
                break
        scope = {
            **scope,
            "headers": [
                *(h for h in scope["headers"] if h[0] not in (b"transfer-encoding",)),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_big(self, scope: Scope, send: Send) -> None:
        limit = f"{self.max_bytes / 2**20:.1f} MiB"
        if scope.get("path", "").startswith("/api/"):
            text = json.dumps(
                {
                    "error": f"The request body is larger than the API reads ({limit} at most); "
                    "nothing was saved."
                }
            ).encode()
            kind = b"application/json"
        else:
            text = f"The request body is too large ({limit} at most).".encode()
            kind = b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(text)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": text})
