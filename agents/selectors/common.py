"""What every read of agent work shares: the agents in the order work flows, how an
agent's name and a run's duration are written, and which runs count as stopped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import get_args

from approvals.analytics import format_span

from ..domain.handoffs import Specialist
from ..models import RunStatus

#: Every agent, in the order work flows: the planner, then its specialists.
AGENTS: tuple[str, ...] = ("planner", *get_args(Specialist))

#: How an agent's name is written where it differs from its capitalised id.
_AGENT_LABELS = {"crm": "CRM"}


def agent_label(agent: str) -> str:
    return _AGENT_LABELS.get(agent, agent[:1].upper() + agent[1:])


#: A run that ended without its result: failed, or stopped and escalated to a person.
STOPPED = (RunStatus.FAILED, RunStatus.ESCALATED)


def duration_label(span: timedelta | None) -> str:
    """Agent runs are often sub-second: show tenths below a minute, then as the queues do."""
    if span is None:
        return "—"
    seconds = span.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds >= 0.1 else "< 0.1 s"
    return format_span(span)
