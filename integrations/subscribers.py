"""What integrations reacts to: every public announcement becomes webhook deliveries, in
the transaction of the change (an outbox: a rolled-back change announces nothing)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from governance import events

from .services import webhooks_enqueue


@receiver(events.announced)
def _announced(
    sender: Any, *, event: str, brand_id: int, data: dict[str, Any], **kwargs: Any
) -> None:
    webhooks_enqueue(event=event, brand_id=brand_id, data=data)
