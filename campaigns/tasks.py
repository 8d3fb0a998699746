"""Celery tasks for campaigns: a few lines each, ids in, a service call."""

import logging

from celery import shared_task
from django.db import OperationalError

from governance.domain.audit import Actor
from governance.domain.errors import DomainError

from .services import campaign_transition_phase

logger = logging.getLogger(__name__)


@shared_task(
    name="campaigns.agent_transition_phase",
    autoretry_for=(OperationalError,),  # a database blip, not a refusal
    retry_backoff=True,
    max_retries=5,
    time_limit=60,
)
def agent_transition_phase(campaign_id: int, to_phase: str, agent: str, reason: str = "") -> None:
    """An agent moves a campaign on (routine progress, or escalating). Launching,
    pausing, resuming and cancelling go through the delegation-policy gate instead, and
    are refused here. A refusal is logged, not retried: a duplicate delivery finds the
    campaign already moved, and the phase table says so."""
    try:
        campaign_transition_phase(
            campaign_id=campaign_id, to_phase=to_phase, actor=Actor.for_agent(agent), reason=reason
        )
    except DomainError as refused:
        logger.info("Campaign %s not moved to %s: %s", campaign_id, to_phase, refused)
