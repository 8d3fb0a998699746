"""How the ASGI server is started, in one place: ``make run``, the bench and the tests
all serve the app the same way."""

from __future__ import annotations

import sys

UVICORN_OPTIONS = [
    # Django's ASGI handler does not speak the lifespan protocol.
    "--lifespan",
    "off",
    # TRICKY: compressing each update separately for every socket cost more CPU than the
    # whole fan-out (p99 to 100 sockets 37 ms → 24 ms without it); fragments are ~1.4 kB.
    "--ws-per-message-deflate",
    "false",
]


def uvicorn_command(
    host: str, port: int, *, workers: int = 1, extra: list[str] | None = None
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "controltower.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        *UVICORN_OPTIONS,
        *(extra or []),
    ]
