"""Celery tasks for brand memory and the claims registry: a few lines each, a service call."""

import logging

from celery import shared_task
from django.db import OperationalError

from .services import claim_expiry_notices_send, send_claim_expiry_notice

logger = logging.getLogger(__name__)


@shared_task(
    name="memory.send_claim_expiry_notices",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError,),  # a database blip, not a bug
    retry_backoff=True,
    max_retries=3,
    time_limit=300,
)
def send_claim_expiry_notices() -> None:
    """Celery beat's daily tick. Running it twice is harmless: each notice is recorded
    once, under the claim's row lock."""
    notified = claim_expiry_notices_send()
    if notified:
        logger.info("Claim expiry notices: %d legal owners told", len(notified))


@shared_task(
    name="memory.email_claim_expiry_notice",
    ignore_result=True,
    acks_late=True,
    # A mail server that is down or refuses for now (smtplib's errors are OSErrors).
    autoretry_for=(OSError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=8,
    time_limit=60,
)
def email_claim_expiry_notice(claim_id: int) -> None:
    send_claim_expiry_notice(claim_id)
