"""Driving the agents in-process: run every queued run until none is left, as a worker
would (tests inside a transaction never fire on-commit task sends)."""

from __future__ import annotations

from agents.models import AgentRun, RunStatus
from agents.specialists import run_specialist


def drain(limit: int = 50) -> list[str]:
    """Run queued runs, oldest first, until none is queued; the agents that ran."""
    ran = []
    for _ in range(limit):
        run = AgentRun.objects.filter(status=RunStatus.QUEUED).order_by("queued_at", "id").first()
        if run is None:
            return ran
        run_specialist(run_id=run.pk)
        ran.append(run.agent)
    raise AssertionError(f"Still queued after {limit} runs: {ran}")
