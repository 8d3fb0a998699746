"""How the ASGI server is started, in one place: ``make run``, the bench and the tests
all serve the app the same way."""

from __future__ import annotations

import os
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


def proxy_options(trusted: str | None = None) -> list[str]:
    """Client addresses come from proxy headers only when ``TRUSTED_PROXIES`` names the
    proxies (comma-separated addresses or networks). TRICKY: uvicorn otherwise trusts
    ``X-Forwarded-For`` from 127.0.0.1, so anyone on the host — or any request a local
    proxy passes on — chose their own address, and the login lock-out (keyed on it)
    never locked anyone out."""
    trusted = (os.environ.get("TRUSTED_PROXIES", "") if trusted is None else trusted).strip()
    if not trusted:
        return ["--no-proxy-headers"]
    return ["--proxy-headers", "--forwarded-allow-ips", trusted]


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
        *proxy_options(),
        *(extra or []),
    ]
