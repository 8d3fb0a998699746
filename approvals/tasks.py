"""Celery tasks for approvals: a few lines each, a service call."""

import logging

from celery import shared_task
from django.db import OperationalError

from .services import approval_timers_sweep, autonomy_review

logger = logging.getLogger(__name__)


@shared_task(
    name="approvals.sweep_timers",
    ignore_result=True,
    acks_late=True,  # a worker killed mid-sweep leaves the tick to be redelivered
    autoretry_for=(OperationalError,),  # a database blip, not a bug
    retry_backoff=True,
    max_retries=3,
    time_limit=120,
)
def sweep_timers() -> None:
    """Escalate overdue approval requests and apply safe defaults (Celery beat's tick).

    Duplicate or overlapping deliveries are harmless: the service re-checks each request
    under its row lock. The tick's ``expires`` is set in ``CELERY_BEAT_SCHEDULE``: a tick
    that waited longer than one interval is dropped, as the next one does the same work.
    """
    result = approval_timers_sweep()
    if result.changed or result.failed:
        logger.info(
            "Approval timers: %d escalated, %d expired, %d approved by default, %d failed",
            len(result.escalated),
            len(result.expired),
            len(result.default_approved),
            len(result.failed),
        )


@shared_task(name="approvals.review_autonomy", acks_late=True, time_limit=600)
def review_autonomy() -> None:
    """Beat's tick: agents' track records, narrowing at once, recommending widenings."""
    autonomy_review()
