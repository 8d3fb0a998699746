"""The ground floor's Celery task (the audit checkpoint) and the retry options every app's
periodic tasks share."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

#: How a periodic task survives a transient database error — a deadlock, a lock
#: timeout, a dropped connection (all ``OperationalError``): retried with backoff
#: (about 1, 2, 4 s, jittered) instead of losing the tick. Only for tasks that are safe to
#: run twice, which beat's ticks are (they work from what the database says is due). A
#: retry keeps the tick's ``expires``: one still late by then is dropped, and the next
#: tick does the same work. ``@shared_task(name=…, **TRANSIENT_RETRY)``.
TRANSIENT_RETRY: dict[str, Any] = {
    "autoretry_for": (OperationalError,),
    "max_retries": 3,
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
}


@shared_task(name="governance.audit_checkpoint", ignore_result=True, acks_late=True, time_limit=120)
def audit_checkpoint() -> None:
    """Anchor the audit chain head outside the database (beat, hourly)."""
    from .services import audit_checkpoint_write

    audit_checkpoint_write()
