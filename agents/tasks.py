"""Celery tasks for the agents: a few lines each, ids in, a service call. Runs are
idempotent by key and each run is one transaction, so a re-delivered task (acks_late
after a worker died) neither loses nor doubles work."""

from celery import shared_task
from django.db import OperationalError

from . import services

RETRY = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),  # database blips only; refusals are final
    "retry_backoff": True,
    "max_retries": 5,
    "time_limit": 120,
}


@shared_task(name="agents.plan_campaign", **RETRY)
def plan_campaign(campaign_id: int) -> None:
    services.planner_run(campaign_id=campaign_id)


@shared_task(name="agents.draft_campaign", **RETRY)
def draft_campaign(campaign_id: int) -> None:
    services.content_run(campaign_id=campaign_id)
