"""The events the product announces to the outside world (outbound webhooks), emitted by
the services in the transaction of the change they describe and sent after it commits —
ids in events, never objects; a rolled-back change announces nothing."""

from __future__ import annotations

from typing import Any

from django.db import transaction

#: Every event type a brand's admin can subscribe a webhook to.
EVENT_TYPES: dict[str, str] = {
    "approval.requested": "An agent's action waits for a person",
    "approval.decided": "A person approved, rejected or sent back an action",
    "campaign.phase_changed": "A campaign moved to another phase",
    "escalation.opened": "Work stopped for a person",
    "escalation.acknowledged": "Someone took an escalation",
    "escalation.resolved": "An escalation was resolved",
    "anomaly.flagged": "An anomaly flag fired",
    "sla.breached": "An SLA was breached",
}


def emit(*, event: str, brand_id: int, data: dict[str, Any]) -> None:
    """Announce ``event`` for a brand once the current transaction commits."""
    if event not in EVENT_TYPES:
        raise ValueError(f"Unknown event type “{event}”.")

    def send() -> None:
        from .webhooks import webhooks_enqueue

        webhooks_enqueue(event=event, brand_id=brand_id, data=data)

    transaction.on_commit(send)
