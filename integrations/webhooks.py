"""Outbound webhooks (being built): subscriptions, signing, deliveries."""

from __future__ import annotations

from typing import Any


def webhooks_enqueue(*, event: str, brand_id: int, data: dict[str, Any]) -> list[int]:
    return []
