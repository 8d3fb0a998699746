"""The specialists: what each agent reads, asks its model for, and hands on.

Every specialist works the same way (``run_specialist``): claim the run, gather its facts
(read-only), ask the model for a typed output — outside any transaction, since a real
model can take a minute — and commit the result in one transaction that first checks
the worker still holds the run. What a specialist writes on commit (its handoff, the
next runs, actions proposed through the delegation-policy gate) is its ``commit``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError
from pydantic import BaseModel

from agents import providers, services
from agents.domain.handoffs import HandoffInvalid
from agents.models import AgentRun, RunStatus
from campaigns.domain.phases import Phase

logger = logging.getLogger(__name__)

#: Agents that only read and report: they work whatever the campaign's phase.
ALWAYS_WORKING = ("performance", "reporting")


@dataclass(frozen=True)
class Assignment:
    """One request to the model: our fixed instructions, the (untrusted) facts as data,
    the output schema, and how the offline composer answers the same request."""

    instructions: str
    data: dict[str, Any]
    output_type: type[BaseModel]
    offline: Callable[[], BaseModel]


class Specialist(ABC):
    """One agent. Subclasses say what to ask the model (``assign``) and what to write
    with the answer (``commit``); an agent without a model overrides ``produce``."""

    name: str = ""
    #: What the specialist does, in one line (the agents page shows it).
    role: str = ""

    def assign(self, run: AgentRun) -> Assignment | None:
        """What to ask the model; ``None`` when there is nothing to do. Only the default
        ``produce`` calls it, so an agent that overrides ``produce`` needs none."""
        return None

    def produce(self, run: AgentRun) -> tuple[Any, services.Usage]:
        assignment = self.assign(run)
        if assignment is None:
            return None, services.Usage()
        generation = providers.generate(
            agent=self.name,
            instructions=assignment.instructions,
            data=assignment.data,
            output_type=assignment.output_type,
            offline=assignment.offline,
        )
        usage = services.Usage(
            input_tokens=generation.input_tokens,
            output_tokens=generation.output_tokens,
            cost=generation.cost,
            model_label=generation.model_label,
        )
        return generation.output, usage

    @abstractmethod
    def commit(self, run: AgentRun, output: Any) -> bool:
        """Write the result (inside the run's commit transaction); False when the run
        ended without success (a rejected handoff escalated it)."""


from .content import Content  # noqa: E402  (the specialists use Assignment/Specialist)
from .crm import Crm  # noqa: E402
from .distribution import Distribution  # noqa: E402
from .experimentation import Experimentation  # noqa: E402
from .performance import Performance  # noqa: E402
from .planner import Planner  # noqa: E402
from .reporting import Reporting  # noqa: E402
from .research import Research  # noqa: E402

SPECIALISTS: dict[str, Specialist] = {
    s.name: s
    for s in (
        Planner(),
        Research(),
        Crm(),
        Content(),
        Experimentation(),
        Distribution(),
        Performance(),
        Reporting(),
    )
}


def run_specialist(*, run_id: int, last_try: bool = False) -> AgentRun | None:
    """Do one run's work, once. Raises ``providers.ModelUnavailable`` (after releasing
    the run) when the model could not be reached and a retry is still allowed, and a
    database ``OperationalError`` (after releasing the run, so the task's retry can claim
    it again at once) — the task retries both. A run whose campaign is paused or
    escalated is not claimed at all: it waits (``agent_run_claim``)."""
    claim = services.agent_run_claim(run_id=run_id)
    if claim is None:
        return None
    try:
        return _work(claim, last_try=last_try or not services.agent_run_attempts_left(claim))
    except OperationalError as exc:
        # TRICKY: a database blip after the claim (a lock timeout, a lost connection)
        # rolls back what this attempt was writing, but the claim itself committed: the
        # run reads "running" with a live lease, and the task's retry would find it
        # held and do nothing — the run stranded until the reaper. Give it back first.
        # (If the database is gone altogether this fails too; then the lease runs out
        # and the reaper re-queues it.)
        services.agent_run_release(claim=claim, error=f"{type(exc).__name__}: {exc}")
        raise


def _work(claim: services.RunHold, *, last_try: bool) -> AgentRun | None:
    specialist = SPECIALISTS[claim.agent]
    run = AgentRun.objects.select_related("campaign__brand", "campaign__brief", "consumes").get(
        pk=claim.run_id
    )
    phase = Phase(run.campaign.phase)
    if phase in (Phase.CANCELLED, Phase.COMPLETED) and claim.agent not in ALWAYS_WORKING:
        return services.agent_run_complete(
            claim=claim, usage=services.Usage(), commit=lambda held: True
        )
    try:
        output, usage = specialist.produce(run)
    except providers.ModelOutputInvalid as exc:
        return services.agent_run_escalate(
            claim=claim,
            reason="The model's output was still malformed after its retries: "
            + "; ".join(exc.problems[:5]),
            kind="malformed_output",
            usage=_usage_of(exc),
        )
    except providers.ModelUnavailable as exc:
        if last_try:
            return services.agent_run_escalate(
                claim=claim,
                reason=f"The language model could not be reached after every retry: {exc}",
                kind="model_unavailable",
                final_status=RunStatus.FAILED,
            )
        services.agent_run_release(claim=claim, error=str(exc))
        raise
    except HandoffInvalid as exc:  # what it consumed no longer passes its schema
        return services.agent_run_escalate(claim=claim, reason=str(exc), kind="handoff_invalid")
    except OperationalError:
        raise  # the database, not the work: run_specialist releases it for the retry
    except Exception as exc:
        # A bug, not a verdict on the work: give the run back (the reaper re-sends it)
        # and let the task fail loudly. CONTROLTOWER_AGENT_MAX_ATTEMPTS bounds it: the
        # attempt that uses the last one fails the run and escalates, with this error.
        services.agent_run_release(claim=claim, error=f"{type(exc).__name__}: {exc}")
        raise
    return services.agent_run_complete(
        claim=claim, usage=usage, commit=lambda held: specialist.commit(held, output)
    )


def _usage_of(exc: Exception) -> services.Usage:
    """Failed attempts still cost tokens; providers attach what they used when known."""
    return services.Usage(
        input_tokens=getattr(exc, "input_tokens", 0),
        output_tokens=getattr(exc, "output_tokens", 0),
        cost=getattr(exc, "cost", services.Usage().cost),
        model_label=getattr(exc, "model_label", ""),
    )
