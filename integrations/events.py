"""The events the product announces to the outside world (outbound webhooks), emitted by
the services in the transaction of the change they describe: the deliveries are written
in that transaction and sent by a worker after it commits — so a rolled-back change
announces nothing, and a crash after the commit loses no announcement (beat resends
what is due). Ids in events, never objects."""

from __future__ import annotations

from typing import Any

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
    """Announce ``event`` for a brand with the current transaction's change."""
    from .webhooks import webhooks_enqueue

    if event not in EVENT_TYPES:
        raise ValueError(f"Unknown event type “{event}”.")
    webhooks_enqueue(event=event, brand_id=brand_id, data=data)
