"""The agents pages: thin adapters over ``agents.selectors``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from approvals import policies

from . import selectors


def _require_access(request: HttpRequest) -> None:
    if not policies.can_view_agent_records(request.user):
        raise PermissionDenied("The agents' records are for managers, legal reviewers and admins.")


def index(request: HttpRequest) -> HttpResponse:
    _require_access(request)
    return render(
        request,
        "agents/index.html",
        {
            "records": selectors.agent_records(request.user),
            "qualified_score": selectors.QUALIFIED_SCORE,
        },
    )


def detail(request: HttpRequest, agent: str) -> HttpResponse:
    _require_access(request)
    known = agent in selectors.AGENTS
    if not known and not selectors.runs_for_user(request.user).filter(agent=agent).exists():
        raise Http404("There is no such agent.")
    (record,) = selectors.agent_records(request.user, agents=[agent])
    return render(
        request,
        "agents/detail.html",
        {
            "record": record,
            "runs": selectors.agent_recent_runs(request.user, agent),
            "failures": selectors.agent_failures(request.user, agent),
            "qualified_score": selectors.QUALIFIED_SCORE,
        },
    )
