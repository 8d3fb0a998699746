"""The approval request's state table, as a full matrix: every (from, to) pair is either
allowed or refused, with a message a person can act on.

The expected table is written out here by hand, not derived from the code under test."""

import pytest

from approvals.domain.status import (
    FINAL_STATES,
    TRANSITIONS,
    AlreadyDecided,
    Status,
    check_transition,
)
from approvals.models import ApprovalStatus
from governance.domain.errors import DomainError, TransitionNotAllowed

P, A, R, C, X = (
    Status.PENDING,
    Status.APPROVED,
    Status.REJECTED,
    Status.CHANGES_REQUESTED,
    Status.EXPIRED,
)

# A request is answered once: by a person (approve, reject, ask for changes) or by its
# timer (expire, or approve by default). Nothing leaves an answer.
EXPECTED_ALLOWED = {
    P: {A, R, C, X},
    A: set(),
    R: set(),
    C: set(),
    X: set(),
}

ALL_PAIRS = [(a, b) for a in Status for b in Status]


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda s: s.value)
def test_every_pair_is_allowed_or_refused_as_the_table_says(current, target):
    if target in EXPECTED_ALLOWED[current]:
        check_transition(current, target)
    else:
        with pytest.raises(TransitionNotAllowed) as refused:
            check_transition(current, target)
        assert str(refused.value)  # always says why


def test_the_table_is_the_expected_one():
    assert {state: set(targets) for state, targets in TRANSITIONS.items()} == EXPECTED_ALLOWED
    assert set(FINAL_STATES) == {A, R, C, X}


def test_the_states_are_the_models_choices():
    assert [(s.value, s.label) for s in Status] == list(ApprovalStatus.choices)


@pytest.mark.parametrize("decided", sorted(FINAL_STATES), ids=lambda s: s.value)
@pytest.mark.parametrize("target", sorted(Status), ids=lambda s: s.value)
def test_a_decided_request_says_who_decided_it(decided, target):
    with pytest.raises(AlreadyDecided) as refused:
        check_transition(decided, target, decided_by="mia")
    assert str(refused.value) == f"This request was already {decided.label.lower()} by mia."


def test_an_answer_by_the_timers_is_the_systems():
    with pytest.raises(AlreadyDecided, match="already expired by the system"):
        check_transition(X, A)
    with pytest.raises(AlreadyDecided, match="already changes requested by the system"):
        check_transition("changes_requested", "rejected")  # the model's values work too


def test_pending_to_pending_lists_what_it_may_become():
    with pytest.raises(TransitionNotAllowed) as refused:
        check_transition(P, P)
    assert not isinstance(refused.value, AlreadyDecided)
    assert str(refused.value) == (
        "A pending request cannot become pending; "
        "it can become: approved, changes requested, expired, rejected."
    )


def test_refusals_are_domain_errors_the_edges_already_map():
    # The views answer 409 and the API 409 for AlreadyDecided, as before the table.
    assert issubclass(AlreadyDecided, DomainError)
    with pytest.raises(ValueError):
        check_transition("decided", A)  # not a state at all: a bug, not a user's error


def test_the_services_set_a_status_only_through_the_table():
    from approvals.models import ApprovalRequest
    from approvals.services.decisions import status_move

    approval = ApprovalRequest(status=ApprovalStatus.PENDING)
    status_move(approval, Status.EXPIRED)
    assert approval.status == ApprovalStatus.EXPIRED
    assert type(approval.status) is ApprovalStatus  # the model's own value, as before
    with pytest.raises(AlreadyDecided, match="already expired by the system"):
        status_move(approval, Status.APPROVED)
    assert approval.status == ApprovalStatus.EXPIRED  # a refused move changes nothing
