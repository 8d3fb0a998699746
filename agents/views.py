"""The agents pages: thin adapters over ``agents.selectors``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from approvals.selectors import autonomy_changes, autonomy_overview
from campaigns.selectors import campaigns_for_user
from governance import policies
from governance.domain.errors import DomainError, NotPermitted

from . import selectors, services


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
            "autonomy": autonomy_overview(request.user),
            "autonomy_changes": autonomy_changes(request.user),
        },
    )


def detail(request: HttpRequest, agent: str) -> HttpResponse:
    _require_access(request)
    known = agent in selectors.AGENTS
    if not known and not selectors.agent_has_runs(request.user, agent):
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


@require_POST
def ask(request: HttpRequest, pk: int) -> HttpResponse:
    """A person asks an agent for fresh work on a campaign (a new report, for one)."""
    campaign = get_object_or_404(campaigns_for_user(request.user), pk=pk)
    agent = request.POST.get("agent", "")
    try:
        services.agent_work_ask(
            campaign_id=campaign.pk,
            agent=agent,
            user=request.user,
            channels=request.POST.getlist("channel")[:10] or None,
        )
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        if request.htmx:
            return HttpResponse(str(exc), status=409)
        messages.error(request, str(exc))
    else:
        if request.htmx:
            # The asked-for work shows at once ("writing a new report…"); its result
            # arrives over the campaign's socket when the agent hands it on.
            return render(
                request,
                "campaigns/campaign_detail.html#agent-work-update",
                {"agent_work": selectors.campaign_agent_work(campaign.pk)},
            )
        messages.success(
            request,
            f"Asked the {selectors.agent_label(agent)} agent; its work appears below as it "
            "happens.",
        )
    return redirect("campaigns:detail", pk=campaign.pk)
