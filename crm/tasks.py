"""Celery tasks for contacts: a few lines each, a service call."""

from celery import shared_task
from django.db import OperationalError

from .services import contact_imports_purge_expired


@shared_task(
    name="crm.purge_expired_imports",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=300,
)
def purge_expired_imports() -> None:
    """Beat's hourly tick; running it twice deletes nothing more."""
    contact_imports_purge_expired()
