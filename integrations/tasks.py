"""Celery tasks for outbound webhooks: ids in, a service call out."""

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(
    name="integrations.deliver_webhook",
    bind=True,
    acks_late=True,
    max_retries=20,  # a backstop: the delivery's own attempt count stops it first
    time_limit=60,
)
def deliver_webhook(self, delivery_id: int) -> str:
    """Post one delivery; while it fails, retried with backoff (30 s · 2^n, at most 1 h)."""
    try:
        return services.webhook_delivery_send(
            delivery_id=delivery_id, last_try=self.request.retries >= self.max_retries
        )
    except services.WebhookDeliveryFailed as exc:
        # TRICKY: wait as long as the delivery says (its attempts, kept in the database),
        # not by this task's retry count: a task re-sent by beat starts again at 0, and a
        # retry arriving before ``next_attempt_at`` would be skipped as a duplicate.
        raise self.retry(exc=exc, countdown=exc.retry_in) from exc
    except OperationalError as exc:  # the database, not the endpoint: nothing recorded
        raise self.retry(
            exc=exc, countdown=services.backoff_seconds(self.request.retries + 1)
        ) from exc


@shared_task(name="integrations.resend_webhooks", acks_late=True, time_limit=120)
def resend_webhooks() -> None:
    services.webhook_deliveries_resend()
