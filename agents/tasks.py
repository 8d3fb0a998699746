"""Celery tasks for the agents: ids in, a service call out.

Durability does not rest on the broker: every run is a row written before its task is
sent (``agents.services.agent_work_request``). The task claims the row, so a duplicate
delivery is a no-op; if a worker dies mid-run, the reaper re-sends the run after its
lease. ``acks_late`` still makes the broker redeliver where it can.

A retry never strands a run: the claim waits for the run's row rather than skipping it,
and a database error after the claim gives the run back before the task retries
(``agents.specialists.run_specialist``). A run is tried at most
``CONTROLTOWER_AGENT_MAX_ATTEMPTS`` times, then failed and escalated.
"""

from celery import shared_task
from django.db import OperationalError

from governance.tasks import TRANSIENT_RETRY

from . import services
from .providers import ModelUnavailable
from .specialists import run_specialist


@shared_task(
    name="agents.run",
    bind=True,
    acks_late=True,
    # Whitelisted: only a database blip (a deadlock, a lock timeout on the claim) or an
    # unreachable model is worth retrying; a refusal, a bad handoff or malformed output
    # is final and handled in the service.
    autoretry_for=(OperationalError,),
    max_retries=4,
    retry_backoff=True,
    retry_backoff_max=300,
    soft_time_limit=110,
    time_limit=120,
)
def run_agent(self, run_id: int) -> None:
    try:
        run_specialist(run_id=run_id, last_try=self.request.retries >= self.max_retries)
    except ModelUnavailable as exc:
        # The run was released back to the queue; retry with backoff (2, 4, 8… s).
        raise self.retry(exc=exc, countdown=min(300, 2 ** (self.request.retries + 1))) from exc


@shared_task(name="agents.reap_runs", acks_late=True, **TRANSIENT_RETRY)
def reap_runs() -> None:
    services.agent_runs_reap()


@shared_task(name="agents.reallocate", acks_late=True, time_limit=600, **TRANSIENT_RETRY)
def reallocate() -> None:
    """Beat's tick: an allocation round for every live experiment."""
    services.experiments_reallocate()


@shared_task(name="agents.learn", acks_late=True, time_limit=600, **TRANSIENT_RETRY)
def learn() -> None:
    """Beat's tick: lessons from reviewers' reasons, proposed to brand memory."""
    services.memory_learn_all()
