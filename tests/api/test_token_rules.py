"""The rules a personal token request must meet (api.domain.tokens), without a database."""

from datetime import UTC, datetime, timedelta

import pytest

from api.domain.tokens import SCOPES, token_request_problems

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def problems(**changes):
    request = {"name": "BI dashboard", "scopes": ["read"], "expires_at": None, "now": NOW}
    return token_request_problems(**{**request, **changes})


def test_a_named_token_with_known_scopes_is_fine():
    assert problems() == []
    assert problems(scopes=list(SCOPES), expires_at=NOW + timedelta(seconds=1)) == []


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"name": "   "}, "Name the token"),
        ({"scopes": []}, "at least one scope"),
        ({"scopes": ["read", "root", "admin"]}, "Unknown scopes admin, root"),
        ({"expires_at": NOW}, "in the future"),
    ],
)
def test_each_problem_is_named(changes, says):
    (problem,) = problems(**changes)
    assert says in problem


def test_every_problem_is_listed_at_once():
    assert len(problems(name="", scopes=[], expires_at=NOW - timedelta(days=1))) == 3
