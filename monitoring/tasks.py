"""Celery tasks for monitoring: ids in, a service call out. The periodic ones are beat's
ticks (``CELERY_BEAT_SCHEDULE``); each is safe to run twice or late, since the services
work from what the database says is due — so a tick that meets a deadlock or a lock
timeout is retried with backoff (``TRANSIENT_RETRY``), never lost."""

from celery import shared_task
from django.db import OperationalError

from governance.tasks import TRANSIENT_RETRY

from . import services


@shared_task(name="monitoring.deliver", bind=True, acks_late=True, max_retries=6)
def deliver(self, delivery_id: int) -> None:
    """Send one email or webhook post; retried with backoff while it fails (1, 2, 4… min)."""
    try:
        services.notification_delivery_send(
            delivery_id=delivery_id, last_try=self.request.retries >= self.max_retries
        )
    except (services.DeliveryFailed, OperationalError) as exc:
        raise self.retry(exc=exc, countdown=min(3600, 60 * 2**self.request.retries)) from exc


@shared_task(name="monitoring.close_buckets", acks_late=True, time_limit=120, **TRANSIENT_RETRY)
def close_buckets() -> None:
    services.monitoring_close_buckets()


@shared_task(name="monitoring.climb_escalations", acks_late=True, time_limit=120, **TRANSIENT_RETRY)
def climb_escalations() -> None:
    services.escalations_climb()


@shared_task(name="monitoring.evaluate_slas", acks_late=True, time_limit=120, **TRANSIENT_RETRY)
def evaluate_slas() -> None:
    from .services.slas import campaigns_enter_monitoring, slas_evaluate

    campaigns_enter_monitoring()
    slas_evaluate()


@shared_task(name="monitoring.sandbox_tick", acks_late=True, time_limit=120, **TRANSIENT_RETRY)
def sandbox_tick() -> None:
    from .services.sandbox import sandbox_deliver

    sandbox_deliver()


@shared_task(name="monitoring.resend_deliveries", acks_late=True, time_limit=120, **TRANSIENT_RETRY)
def resend_deliveries() -> None:
    services.deliveries_resend()


@shared_task(
    name="monitoring.purge_expired_imports", acks_late=True, time_limit=120, **TRANSIENT_RETRY
)
def purge_expired_imports() -> None:
    from .services.imports import telemetry_imports_purge_expired

    telemetry_imports_purge_expired()
