"""Monitoring pages and the telemetry endpoint: thin adapters over selectors and services."""

from __future__ import annotations

import json
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from approvals import policies
from campaigns.domain.errors import DomainError, NotPermitted
from campaigns.selectors import campaigns_for_user

from . import selectors, services
from .domain.telemetry import MAX_ROWS, REQUIRED, csv_header, read_csv
from .forms import ResolveForm, ResumeSurfaceForm, SilenceForm, TelemetryUploadForm
from .models import CircuitBreaker, Escalation, Silence, TelemetrySource
from .services.tokens import ingestion_token_check

#: Bytes per posted batch (50,000 events of ~300 bytes of JSON).
MAX_BODY_BYTES = 16 * 1024 * 1024


# --- People's pages --------------------------------------------------------------------


def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.notifications_mark_read(user=request.user)
        messages.success(request, "All notifications marked read.")
        return redirect("monitoring:notifications")
    return render(
        request,
        "monitoring/notifications.html",
        {"notifications": selectors.notifications_for(request.user)},
    )


def escalations(request: HttpRequest) -> HttpResponse:
    show_all = request.GET.get("show") == "all"
    return render(
        request,
        "monitoring/escalations.html",
        {
            "escalations": selectors.escalations_for_user(request.user, include_resolved=show_all),
            "show_all": show_all,
        },
    )


def _escalation_for(request: HttpRequest, pk: int) -> Escalation:
    visible = campaigns_for_user(request.user).values("pk")
    return get_object_or_404(Escalation.objects.filter(campaign__in=visible), pk=pk)


def _back(request: HttpRequest, campaign_id: int, anchor: str) -> HttpResponse:
    if request.POST.get("next") == "escalations":
        return redirect("monitoring:escalations")
    return redirect(f"/campaigns/{campaign_id}/#{anchor}")


@require_POST
def escalation_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    escalation = _escalation_for(request, pk)
    try:
        services.escalation_acknowledge(escalation_id=escalation.pk, user=request.user)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Acknowledged: it stops climbing and stays open until resolved.")
    return _back(request, escalation.campaign_id, "escalations")


@require_POST
def escalation_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    escalation = _escalation_for(request, pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say how it was resolved: a note is required.")
        return _back(request, escalation.campaign_id, "escalations")
    try:
        services.escalation_resolve(
            escalation_id=escalation.pk,
            user=request.user,
            note=form.cleaned_data["note"],
            resume=form.cleaned_data["resume"],
        )
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Resolved.")
    return _back(request, escalation.campaign_id, "escalations")


@require_POST
def silence_create(request: HttpRequest, campaign_pk: int) -> HttpResponse:
    campaign = get_object_or_404(campaigns_for_user(request.user), pk=campaign_pk)
    if not policies.can_silence(request.user, campaign.brand):
        raise PermissionDenied("You cannot silence this brand's flags.")
    form = SilenceForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            "The silence was not set: "
            + "; ".join(f"{f}: {' '.join(e)}" for f, e in form.errors.items()),
        )
        return redirect(f"/campaigns/{campaign.pk}/#silences")
    data = form.cleaned_data
    now = timezone.now()
    try:
        services.silence_create(
            brand_id=campaign.brand_id,
            campaign_id=None if data["whole_brand"] else campaign.pk,
            user=request.user,
            starts_at=now,
            ends_at=now + timedelta(hours=data["hours"]),
            reason=data["reason"],
            kinds=data["kinds"],
            channel=data["channel"],
        )
    except DomainError as exc:
        messages.error(request, f"The silence was not set: {exc}")
    else:
        messages.success(
            request,
            f"Silenced for {data['hours']} h: flags are still recorded and shown, but nobody "
            "is told and no automatic response runs.",
        )
    return redirect(f"/campaigns/{campaign.pk}/#silences")


@require_POST
def silence_end(request: HttpRequest, pk: int) -> HttpResponse:
    brands = policies.visible_brand_ids(request.user)
    silence = get_object_or_404(Silence.objects.filter(brand_id__in=brands), pk=pk)
    try:
        services.silence_end(silence_id=silence.pk, user=request.user)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The silence has ended: flags are acted on again.")
    back = request.POST.get("campaign", "")
    return redirect(f"/campaigns/{back}/#silences" if back.isdigit() else "tower")


@require_POST
def breaker_resume(request: HttpRequest, pk: int) -> HttpResponse:
    visible = campaigns_for_user(request.user).values("pk")
    breaker = get_object_or_404(CircuitBreaker.objects.filter(campaign__in=visible), pk=pk)
    form = ResumeSurfaceForm(request.POST)
    justification = form.data.get("justification", "")
    try:
        services.breaker_close(
            breaker_id=breaker.pk, user=request.user, justification=justification
        )
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{breaker.surface} resumes delivering.")
    return redirect(f"/campaigns/{breaker.campaign_id}/#flags")


def telemetry_upload(request: HttpRequest) -> HttpResponse:
    brands = [
        brand
        for brand in policies.visible_brands(request.user)
        if policies.can_upload_telemetry(request.user, brand)
    ]
    if not brands:
        raise PermissionDenied("Telemetry uploads are for managers and admins of a brand.")
    form = TelemetryUploadForm(request.POST or None, request.FILES or None, brands=brands)
    errors, result = [], None
    if request.method == "POST" and form.is_valid():
        try:
            text = form.cleaned_data["file"].read().decode("utf-8-sig")
        except UnicodeDecodeError:
            errors = ["The file is not UTF-8 text; export it as CSV (UTF-8) and try again."]
        else:
            parsed = read_csv(text, now=timezone.now())
            try:
                result = services.telemetry_ingest(
                    brand_id=int(form.cleaned_data["brand"]),
                    parsed=parsed,
                    source=TelemetrySource.CSV,
                )
            except services.TelemetryInvalid as invalid:
                errors = [str(e) for e in invalid.errors]
    return render(
        request,
        "monitoring/telemetry_upload.html",
        {
            "form": form,
            "errors": errors,
            "result": result,
            "columns": csv_header(),
            "required": REQUIRED,
            "max_rows": MAX_ROWS,
        },
        status=400 if errors else 200,
    )


# --- The machine endpoint --------------------------------------------------------------


@csrf_exempt
@login_not_required
def api_ingest(request: HttpRequest) -> HttpResponse:
    """POST /api/v1/telemetry/events — a batch of events for the token's brand.

    ``Authorization: Bearer <ingestion token>``; body ``{"events": [ … ]}``. 200 with what
    was stored; 400 with every bad row (nothing stored); 401/405/413 as HTTP says."""
    if request.method != "POST":
        return _error(405, "Use POST.", allow="POST")
    auth = request.headers.get("Authorization", "")
    token = None
    if auth.startswith("Bearer "):
        token = ingestion_token_check(auth.removeprefix("Bearer ").strip())
    if token is None:
        return _error(401, "A valid ingestion token is required (Authorization: Bearer …).")
    length = int(request.headers.get("Content-Length") or 0)
    if length > MAX_BODY_BYTES:
        return _error(413, f"At most {MAX_BODY_BYTES // 1_000_000} MB per batch; send several.")
    try:
        body = json.loads(request.read(MAX_BODY_BYTES + 1) or b"null")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "The body is not JSON.")
    if not isinstance(body, dict) or set(body) - {"events"} or "events" not in body:
        return _error(400, 'The body must be an object with one field, "events" (a list).')
    try:
        result = services.telemetry_ingest(
            brand_id=token.brand_id, items=body["events"], source=TelemetrySource.API
        )
    except services.TelemetryInvalid as invalid:
        return JsonResponse(
            {
                "error": "Nothing was stored: the batch has errors.",
                "errors": [
                    {"row": e.row, "field": e.field, "message": e.message} for e in invalid.errors
                ],
            },
            status=400,
        )
    return JsonResponse(
        {
            "received": result.received,
            "stored": result.stored,
            "duplicates": result.duplicates,
            "flags": result.flags,
        }
    )


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.capitalize()] = value
    return response
