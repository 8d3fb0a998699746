"""What a campaign waits for next, in pure Python: one sentence, always true.

It is derived from the campaign's state each time it is shown (the tower row, the
campaign page, the API), never stored, so it cannot go stale: a plan that is written
stops saying "the planner drafts the plan" the moment it is. First match wins::

    finished            nothing
    draft               finish the brief
    escalated           resolve the escalation (its summary)
    paused              resume or cancel
    an open hold        the hold's reason (a person must decide)
    an agent at work    which agent, doing what     (briefing and execution)
    approvals waiting   how many, in which queues
    briefing            launch what was cleared / nothing cleared / the planner starts
    execution           publish, wait for delivery, warm up
    monitoring          an open flag and its response, else the performance agent watches
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .phases import Phase

#: What each agent is doing while it works, as the tower says it.
AGENT_DOING: Mapping[str, str] = {
    "planner": "Planner agent is writing the plan",
    "research": "Research agent is studying the audience",
    "crm": "CRM agent is scoring the contacts",
    "content": "Content agent is drafting the creative",
    "experimentation": "Experimentation agent is designing the test",
    "distribution": "Distribution agent is publishing the cleared variants",
    "performance": "Performance agent is reading the numbers",
    "reporting": "Reporting agent is writing the report",
}

#: Agents whose work the campaign waits on before it can go further.
BLOCKING_AGENTS = ("planner", "research", "crm", "content", "distribution")


@dataclass(frozen=True)
class WorkFacts:
    """What the next action is read from, as plain values."""

    phase: Phase
    escalation: str = ""  # the open campaign-wide escalation's summary
    hold: str = ""  # the oldest open hold, in words ("Search ads: …")
    agent_at_work: str = ""  # an unfinished run's agent (planner, content, …)
    agent_queued: bool = False  # it waits for a worker rather than running
    pending: Mapping[str, int] = field(default_factory=dict)  # queue role -> requests
    cleared: int = 0  # variants cleared for publishing, not yet out
    published: int = 0
    drafted: bool = False  # any drafts were handed on
    delivering_since: datetime | None = None  # the first delivery (local time)
    pacing_judged_from: datetime | None = None  # end of the warm-up (local time)
    now: datetime | None = None
    open_flag: str = ""  # the first open flag, in words
    flag_response: str = ""  # what is being done about it


def next_action(facts: WorkFacts) -> str:
    """The one sentence for "Next action"."""
    phase = facts.phase
    if phase == Phase.COMPLETED:
        return "Nothing: the campaign is complete"
    if phase == Phase.CANCELLED:
        return "Nothing: the campaign was cancelled"
    if phase == Phase.DRAFT:
        return "Finish the brief and submit it"
    if phase == Phase.ESCALATED:
        return _sentence(f"Resolve the escalation: {facts.escalation}", facts.escalation) or (
            "A person must resolve the escalation"
        )
    if phase == Phase.PAUSED:
        return "A person must resume or cancel the campaign"
    if facts.hold:
        return facts.hold
    working = phase in (Phase.BRIEFING, Phase.EXECUTION)
    if working and facts.agent_at_work in BLOCKING_AGENTS:
        doing = AGENT_DOING[facts.agent_at_work]
        return f"{doing} (queued)" if facts.agent_queued else doing
    if facts.pending:
        return approvals_waiting(facts.pending)
    if phase == Phase.BRIEFING:
        if facts.cleared:
            return f"Launch when ready: {_count(facts.cleared, 'variant')} cleared for publishing"
        if facts.drafted:
            return "No drafts were cleared: ask for new drafts or cancel the campaign"
        return "Planner agent drafts the plan from the brief"
    if phase == Phase.EXECUTION:
        if facts.delivering_since is None:
            if facts.published:
                return "Waiting for the first delivery from the market"
            if facts.cleared:
                return AGENT_DOING["distribution"]
            return "Nothing is cleared to publish: approve drafts or ask for new ones"
        since = f"{facts.delivering_since:%H:%M}"
        judged = facts.pacing_judged_from
        if judged is not None and (facts.now is None or facts.now < judged):
            return f"Delivering since {since}; pacing judged from {judged:%H:%M}"
        return f"Delivering since {since}; the performance agent watches the numbers"
    if facts.open_flag:
        doing = f": {facts.flag_response}" if facts.flag_response else ""
        return f"{facts.open_flag}{doing}"
    return "Performance agent watches the numbers"


def approvals_waiting(pending: Mapping[str, int]) -> str:
    """ "3 approvals wait for Legal Reviewer, 1 for Marketing Manager" """
    parts = sorted(pending.items(), key=lambda item: (-item[1], item[0]))
    first_role, first_n = parts[0]
    text = f"{_count(first_n, 'approval')} {'waits' if first_n == 1 else 'wait'} for {first_role}"
    return text + "".join(f", {n} for {role}" for role, n in parts[1:])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _sentence(text: str, needed: str) -> str:
    return text if needed else ""
