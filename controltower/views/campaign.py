"""The campaign page: its state and what needs you, the charts, the agents' work, flags,
escalations, SLAs, approvals and activity — every app's part of one campaign, composed
here, above them all. The phase change and hold decisions made from it come back here."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from agents.selectors import campaign_agent_work, campaign_experiments
from approvals.selectors import campaign_approvals
from campaigns import selectors, services
from campaigns.domain.metrics import METRICS, Metric
from campaigns.domain.phases import Phase, allowed_targets, needs_reason
from campaigns.forms import TransitionForm
from governance import policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from monitoring import selectors as monitoring
from monitoring.forms import BacktestForm, SilenceForm

from .. import charts
from ..selectors import campaign_status


def _detail_context(request: HttpRequest, campaign, *, error: str = "") -> dict:
    current = Phase(campaign.phase)
    resume = Phase(campaign.resume_phase) if campaign.resume_phase else None
    targets = sorted(allowed_targets(current, resume_phase=resume), key=list(Phase).index)
    status = campaign_status(campaign)
    return {
        "campaign": campaign,
        "work": status.work,
        "pacing": status.pacing,
        "brief": campaign.brief,
        "history": selectors.campaign_phase_history(campaign),
        "can_change_phase": policies.can_change_phase(request.user, campaign),
        "is_admin": policies.is_admin(request.user),
        "targets": [(t, needs_reason(current, t)) for t in targets],
        "transition_error": error,
    }


def _insights_context(campaign) -> dict:
    """Everything below the phase panel: charts, flags, SLAs, approvals, activity. Only
    whole-page renders need it; the phase-panel fragment skips these queries."""
    currency = campaign.brand.currency
    spend = selectors.campaign_spend_series(campaign)
    metric = selectors.campaign_metric_series(campaign)
    anomalies = monitoring.campaign_anomaly_markers(campaign)
    # Read whether or not there is a chart, so the page costs the same queries either way.
    band = monitoring.campaign_expected_band(campaign, metric.metric)
    pacing_chart = performance_chart = None
    if spend.actual:
        spend_args = {"planned": spend.planned, "currency": currency}
        pacing_chart = {
            "figure": charts.figure_data(charts.budget_pacing_figure(spend.actual, **spend_args)),
            "summary": charts.pacing_summary(spend.actual, **spend_args),
            "recent": spend.actual[-6:],
        }
    if metric.points:
        chart_args = {
            "metric_label": metric.label,
            "control_limit": metric.control_limit,
            "anomalies": anomalies,
            "band": band,
        }
        performance_chart = {
            "figure": charts.figure_data(charts.performance_figure(metric.points, **chart_args)),
            "summary": charts.performance_summary(metric.points, **chart_args),
            "recent": metric.points[-6:],
            "label": metric.label,
        }
    return {
        "pacing_chart": pacing_chart,
        "performance_chart": performance_chart,
        "backtest_form": BacktestForm(
            initial={"metric": metric.metric if metric.metric in METRICS else Metric.CPA}
        ),
        "open_flags": monitoring.campaign_open_flags(campaign),
        "flags": monitoring.campaign_flags(campaign),
        "paused_surfaces": monitoring.open_breakers(campaign),
        "escalations": monitoring.campaign_escalations(campaign),
        "silences": monitoring.campaign_silences(campaign),
        "silence_form": SilenceForm(),
        "experiments": campaign_experiments(campaign.pk),
        "sla_evaluations": monitoring.campaign_latest_sla(campaign),
        "approvals": campaign_approvals(campaign),
        "activity": selectors.campaign_recent_activity(campaign),
        "agent_work": campaign_agent_work(campaign.pk, currency=campaign.brand.currency),
    }


def _live_context(request: HttpRequest, campaign) -> dict:
    """What the page's live sections show (``#campaign-live``): re-fetched by each viewer
    when the campaign changes, so buttons follow their own permissions."""
    return _detail_context(request, campaign) | {
        "flags": monitoring.campaign_flags(campaign),
        "paused_surfaces": monitoring.open_breakers(campaign),
        "escalations": monitoring.campaign_escalations(campaign),
        "sla_evaluations": monitoring.campaign_latest_sla(campaign),
        "approvals": campaign_approvals(campaign),
    }


def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(selectors.campaigns_for_user(request.user), pk=pk)
    if request.htmx and request.GET.get("part") == "live":
        return render(
            request,
            "campaigns/campaign_detail.html#campaign-live",
            _live_context(request, campaign),
        )
    if request.htmx and request.GET.get("part") == "agent-work":
        # A live page catching up after its socket dropped: exactly what a push carries.
        return render(
            request,
            "campaigns/campaign_detail.html#agent-work-update",
            {"agent_work": campaign_agent_work(campaign.pk, currency=campaign.brand.currency)},
        )
    context = _detail_context(request, campaign) | _insights_context(campaign)
    return render(request, "campaigns/campaign_detail.html", context)


def campaign_backtest(request: HttpRequest, pk: int) -> HttpResponse:
    """ "How would the live detector have done on this campaign's data?" for one metric: the
    page's ``#backtest`` fragment (the whole page without htmx). Whoever sees the campaign
    may ask; it reads only."""
    campaign = get_object_or_404(selectors.campaigns_for_user(request.user), pk=pk)
    form = BacktestForm(request.GET)
    context = {"campaign": campaign, "backtest_form": form, "backtest": None}
    if form.is_valid():
        context["backtest"] = _backtest_context(campaign, **form.cleaned_data)
    if request.htmx:
        # TRICKY: htmx 2 does not swap a 4xx answer, so refused input comes back as 200 with
        # the error beside the form; the chart area is replaced by nothing else.
        return render(request, "campaigns/campaign_detail.html#backtest", context)
    context = _detail_context(request, campaign) | _insights_context(campaign) | context
    status = 200 if form.is_valid() else 422
    return render(request, "campaigns/campaign_detail.html", context, status=status)


def _backtest_context(campaign, *, metric: str, control_limit: Decimal | None) -> dict:
    result = monitoring.campaign_backtest(
        campaign, metric, control_limit=None if control_limit is None else float(control_limit)
    )
    return {
        "result": result,
        "figure": charts.figure_data(
            charts.backtest_figure(
                result.points,
                metric_label=result.label,
                short_label=result.short_label,
                unit=result.unit,
                control_limit=result.control_limit,
            )
        ),
        "summary": charts.backtest_summary(
            result.points,
            short_label=result.short_label,
            unit=result.unit,
            hours=result.hours,
            hours_with_metric=result.hours_with_metric,
            hours_to_judge=result.hours_to_judge,
        ),
    }


@require_POST
def campaign_transition(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(selectors.campaigns_for_user(request.user), pk=pk)
    if not policies.can_change_phase(request.user, campaign):
        raise PermissionDenied("You cannot change the phase of this campaign.")
    form = TransitionForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Choose the phase to move to."
    else:
        try:
            campaign = services.campaign_transition_phase(
                campaign_id=campaign.pk,
                to_phase=form.cleaned_data["to_phase"],
                actor=Actor.for_user(request.user),
                reason=form.cleaned_data["reason"],
            )
        except NotPermitted as exc:
            raise PermissionDenied(str(exc)) from exc
        except DomainError as exc:
            error = str(exc)
    if not error and not request.htmx:
        messages.success(request, f"{campaign.name} is now {campaign.get_phase_display().lower()}.")
        return redirect("campaigns:detail", pk=campaign.pk)
    campaign.refresh_from_db()
    template = "campaigns/campaign_detail.html"
    context = _detail_context(request, campaign, error=error)
    if request.htmx:
        template += "#phase-panel"
    else:
        context |= _insights_context(campaign)
    return render(request, template, context, status=409 if error else 200)


@require_POST
def hold_resolve(request: HttpRequest, pk: int, hold_pk: int) -> HttpResponse:
    """A person decides about a hold ("go ahead without Search ads"), from the page."""
    campaign = get_object_or_404(selectors.campaigns_for_user(request.user), pk=pk)
    hold = get_object_or_404(selectors.campaign_holds(campaign), pk=hold_pk)
    try:
        services.hold_resolve(
            hold_id=hold.pk,
            actor=Actor.for_user(request.user),
            resolution=request.POST.get("note", "")[:300],
        )
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        if request.htmx:
            return HttpResponse(str(exc), status=409)
        messages.error(request, str(exc))
    else:
        if not request.htmx:
            messages.success(request, f"Resolved: {hold.channel_label}.")
    if request.htmx:  # the page refreshes its live sections from the change's push
        return render(
            request,
            "campaigns/campaign_detail.html#campaign-live",
            _live_context(request, campaign),
        )
    return redirect("campaigns:detail", pk=campaign.pk)
