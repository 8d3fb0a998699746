"""The phase table, as a full matrix: every (from, to) pair is either allowed or refused.

The expected table is written out here by hand, not derived from the code under test."""

import pytest

from campaigns.domain.phases import (
    Phase,
    allowed_targets,
    check_transition,
    needs_reason,
    resume_phase_after,
)
from governance.domain.errors import ReasonRequired, TransitionNotAllowed

D, B, E, M = Phase.DRAFT, Phase.BRIEFING, Phase.EXECUTION, Phase.MONITORING
X, P, C, K = Phase.ESCALATED, Phase.PAUSED, Phase.COMPLETED, Phase.CANCELLED

# For holding phases (escalated, paused) the campaign left EXECUTION in these cases.
EXPECTED_ALLOWED = {
    D: {B, K},
    B: {D, E, X, P, K},
    E: {M, X, P, K},
    M: {E, C, X, P, K},
    X: {E, P, K},  # resumes execution, the phase it interrupted
    P: {E, K},
    C: set(),
    K: set(),
}

ALL_PAIRS = [(a, b) for a in Phase for b in Phase]


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda p: p.value)
def test_every_pair_is_allowed_or_refused_as_the_table_says(current, target):
    resume = E if current in (X, P) else None
    if target in EXPECTED_ALLOWED[current]:
        check_transition(current, target, resume_phase=resume, reason="because")
    else:
        with pytest.raises(TransitionNotAllowed) as refused:
            check_transition(current, target, resume_phase=resume, reason="because")
        assert str(refused.value)  # always says why


@pytest.mark.parametrize("current", list(Phase), ids=lambda p: p.value)
def test_allowed_targets_match_the_table(current):
    resume = E if current in (X, P) else None
    assert allowed_targets(current, resume_phase=resume) == EXPECTED_ALLOWED[current]


@pytest.mark.parametrize("resume", [B, E, M], ids=lambda p: p.value)
@pytest.mark.parametrize("holding", [X, P], ids=lambda p: p.value)
def test_holding_phase_resumes_only_the_phase_it_interrupted(holding, resume):
    check_transition(holding, resume, resume_phase=resume, reason="resolved")
    for other in {B, E, M} - {resume}:
        with pytest.raises(TransitionNotAllowed, match=f"only resume {resume.value}"):
            check_transition(holding, other, resume_phase=resume, reason="resolved")


def test_messages_name_the_phases_and_the_options():
    with pytest.raises(TransitionNotAllowed) as refused:
        check_transition(D, M)
    assert str(refused.value) == (
        "Cannot move from draft to monitoring; from draft a campaign can move to: "
        "briefing, cancelled."
    )
    with pytest.raises(TransitionNotAllowed, match="cannot change phase any more"):
        check_transition(C, E)
    with pytest.raises(TransitionNotAllowed, match="already execution"):
        check_transition(E, E)


@pytest.mark.parametrize(
    ("current", "target", "resume"),
    [(E, X, None), (M, P, None), (B, K, None), (X, E, E), (P, M, M)],
    ids=str,
)
def test_stopping_ending_or_resuming_needs_a_reason(current, target, resume):
    assert needs_reason(current, target)
    with pytest.raises(ReasonRequired, match="a reason is required"):
        check_transition(current, target, resume_phase=resume, reason="   ")
    check_transition(current, target, resume_phase=resume, reason="Known issue fixed")


def test_forward_steps_need_no_reason():
    for current, target in [(D, B), (B, E), (E, M), (M, C), (M, E), (B, D)]:
        assert not needs_reason(current, target)
        check_transition(current, target)


def test_resume_phase_is_remembered_through_escalation_and_pause():
    assert resume_phase_after(E, X, resume_phase=None) == E
    # Pausing an escalated campaign still resumes the phase the escalation interrupted.
    assert resume_phase_after(X, P, resume_phase=E) == E
    assert resume_phase_after(X, E, resume_phase=E) is None
    assert resume_phase_after(B, E, resume_phase=None) is None


def test_which_agent_moves_need_an_authorization():
    from campaigns.domain.phases import agent_needs_authorization

    needs = {
        (B, E),  # launch: spends money
        (B, P),
        (E, P),
        (M, P),  # pausing stops work people planned
        (D, K),
        (B, K),
        (E, K),
        (M, K),  # cancelling ends it
        (X, E),
        (X, P),
        (X, K),
        (P, E),
        (P, K),  # resuming reverses a person's hold
    }
    # Over every move the phase table allows (holding phases resuming execution).
    for current in Phase:
        for target in allowed_targets(current, resume_phase=E):
            assert agent_needs_authorization(current, target) is ((current, target) in needs), (
                current,
                target,
            )
