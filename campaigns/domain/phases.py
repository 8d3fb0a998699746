"""The campaign phase machine: the table of allowed transitions, in pure Python.

Four working stages from the blueprint — briefing → execution → monitoring, with
*escalated* a state any live phase can enter — plus draft, paused, completed and
cancelled. Escalated and paused remember the live phase they interrupted
(``resume_phase``) and may only go back to that one: resuming can never skip a step.

Every transition is checked by :func:`check_transition` and carried out by the one
service ``campaigns.services.campaign_transition_phase``.
"""

from __future__ import annotations

from enum import StrEnum

from governance.domain.errors import ReasonRequired, TransitionNotAllowed


class Phase(StrEnum):
    DRAFT = "draft"
    BRIEFING = "briefing"
    EXECUTION = "execution"
    MONITORING = "monitoring"
    ESCALATED = "escalated"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.capitalize()


#: Phases in which agents are working on the campaign.
LIVE_PHASES = frozenset({Phase.BRIEFING, Phase.EXECUTION, Phase.MONITORING})
#: Phases that interrupt a live phase and later resume it.
HOLDING_PHASES = frozenset({Phase.ESCALATED, Phase.PAUSED})
#: Phases nothing leaves.
FINAL_PHASES = frozenset({Phase.COMPLETED, Phase.CANCELLED})

#: Fixed transitions. Leaving a holding phase back to work is the resume rule below.
TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.DRAFT: frozenset({Phase.BRIEFING, Phase.CANCELLED}),
    Phase.BRIEFING: frozenset(
        {Phase.DRAFT, Phase.EXECUTION, Phase.ESCALATED, Phase.PAUSED, Phase.CANCELLED}
    ),
    Phase.EXECUTION: frozenset({Phase.MONITORING, Phase.ESCALATED, Phase.PAUSED, Phase.CANCELLED}),
    Phase.MONITORING: frozenset(
        {Phase.EXECUTION, Phase.COMPLETED, Phase.ESCALATED, Phase.PAUSED, Phase.CANCELLED}
    ),
    Phase.ESCALATED: frozenset({Phase.PAUSED, Phase.CANCELLED}),
    Phase.PAUSED: frozenset({Phase.CANCELLED}),
    Phase.COMPLETED: frozenset(),
    Phase.CANCELLED: frozenset(),
}

#: Moving into these needs a written reason: they stop work or end the campaign.
REASON_REQUIRED_INTO = frozenset({Phase.ESCALATED, Phase.PAUSED, Phase.CANCELLED})


def allowed_targets(current: Phase, *, resume_phase: Phase | None = None) -> frozenset[Phase]:
    """Every phase ``current`` may move to. A holding phase may also resume its live phase."""
    targets = TRANSITIONS[current]
    if current in HOLDING_PHASES and resume_phase in LIVE_PHASES:
        targets = targets | {resume_phase}
    return targets


def check_transition(
    current: Phase,
    target: Phase,
    *,
    resume_phase: Phase | None = None,
    reason: str = "",
) -> None:
    """Raise a :class:`DomainError` saying why ``current → target`` is refused, else return."""
    if target == current:
        raise TransitionNotAllowed(f"The campaign is already {current.label.lower()}.")
    if current in FINAL_PHASES:
        raise TransitionNotAllowed(
            f"A {current.label.lower()} campaign cannot change phase any more."
        )
    allowed = allowed_targets(current, resume_phase=resume_phase)
    if target not in allowed:
        if current in HOLDING_PHASES and target in LIVE_PHASES and resume_phase:
            raise TransitionNotAllowed(
                f"A {current.label.lower()} campaign can only resume "
                f"{resume_phase.label.lower()}, the phase it left."
            )
        options = ", ".join(sorted(p.label.lower() for p in allowed)) or "nothing"
        raise TransitionNotAllowed(
            f"Cannot move from {current.label.lower()} to {target.label.lower()}; "
            f"from {current.label.lower()} a campaign can move to: {options}."
        )
    if needs_reason(current, target) and not reason.strip():
        raise ReasonRequired(
            f"Say why the campaign moves from {current.label.lower()} to "
            f"{target.label.lower()}: a reason is required."
        )


def needs_reason(current: Phase, target: Phase) -> bool:
    """Stopping, ending or resuming interrupted work is always explained."""
    return target in REASON_REQUIRED_INTO or current in HOLDING_PHASES


def resume_phase_after(
    current: Phase, target: Phase, *, resume_phase: Phase | None
) -> Phase | None:
    """The live phase a holding phase will resume, after ``current → target``."""
    if target in HOLDING_PHASES:
        # Pausing an escalated campaign keeps the phase the escalation interrupted.
        return current if current in LIVE_PHASES else resume_phase
    return None


def agent_needs_authorization(current: Phase, target: Phase) -> bool:
    """Moves an agent may make only with a recorded policy decision or a person's
    approval: launching spends money, pausing and cancelling stop work people planned,
    resuming reverses a person's hold. Routine progress (and escalating, which stops to
    ask people) never waits for one."""
    return (
        (current == Phase.BRIEFING and target == Phase.EXECUTION)
        or target in {Phase.PAUSED, Phase.CANCELLED}
        or current in HOLDING_PHASES
    )
