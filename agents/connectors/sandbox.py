"""The sandbox market: a stand-in ad platform that accepts placements without a network.
Its ids are derived from the idempotency key, so publishing the same key again returns
the same placement, as a real platform's idempotency keys do."""

from __future__ import annotations

import hashlib


class SandboxMarket:
    name = "sandbox market"

    def publish(self, *, key: str, channel: str, headline: str, body: str) -> str:
        return "sbx-" + hashlib.sha256(f"{key}|{channel}".encode()).hexdigest()[:16]
