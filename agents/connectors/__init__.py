"""Where published work goes: one connector per destination, all with the same shape.

The default is the sandbox market (no network); real ad platforms plug in here.
Publishing is idempotent by key, so a run retried after a crash between publishing and
committing cannot place the same content twice.
"""

from __future__ import annotations

from typing import Protocol


class Connector(Protocol):
    name: str

    def publish(self, *, key: str, channel: str, headline: str, body: str) -> str:
        """Place content; return the destination's id for it. Same key → same id."""
        ...


def connector_for(channel: str) -> Connector:
    from .sandbox import SandboxMarket

    return SandboxMarket()
