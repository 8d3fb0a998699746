"""The Celery app: configuration from Django settings (``CELERY_*``), tasks discovered per app."""

import os
from typing import Any

from celery import Celery
from django.db import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.base")

app = Celery("controltower")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

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
