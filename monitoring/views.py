"""Monitoring pages and the telemetry endpoint: thin adapters over selectors and services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.http import require_POST

from campaigns.selectors import campaigns_for_user
from governance import policies
from governance.domain.errors import DomainError, NotPermitted

from . import selectors, services
from .domain.telemetry import MAX_ROWS, REQUIRED, csv_header
from .forms import ResolveForm, ResumeSurfaceForm, SilenceForm, TelemetryUploadForm
from .models import Escalation
from .services import imports as telemetry_imports

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
    return get_object_or_404(selectors.escalations_visible_to(request.user), pk=pk)


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
    silence = get_object_or_404(selectors.silences_visible_to(request.user), pk=pk)
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
    breaker = get_object_or_404(selectors.breakers_visible_to(request.user), pk=pk)
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
    """GET: the upload form. POST: check the file; a clean one is kept (pending) and
    previewed with a Confirm button, a bad one lists its problems by row (nothing kept)."""
    brands = _upload_brands(request)
    form = TelemetryUploadForm(request.POST or None, request.FILES or None, brands=brands)
    errors: list[str] = []
    pending, preview = None, None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        brand = next(b for b in brands if str(b.pk) == form.cleaned_data["brand"])
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            errors = ["The file is not UTF-8 text; export it as CSV (UTF-8) and try again."]
        else:
            try:
                pending, preview = telemetry_imports.telemetry_import_stage(
                    brand=brand, uploaded_by=request.user, filename=upload.name or "", text=text
                )
            except NotPermitted as exc:
                raise PermissionDenied(str(exc)) from exc
            except services.TelemetryInvalid as invalid:
                errors = [str(e) for e in invalid.errors]
            except DomainError as exc:
                errors = [str(exc)]
    return render(
        request,
        "monitoring/telemetry_upload.html",
        {
            "form": form,
            "errors": errors,
            "pending": pending,
            "preview": preview,
            "columns": csv_header(),
            "required": REQUIRED,
            "max_rows": MAX_ROWS,
        },
        status=400 if errors else 200,
    )


@require_POST
def telemetry_import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Ingest the previewed file. Someone else's upload does not exist for this user."""
    brands = _upload_brands(request)
    pending = get_object_or_404(selectors.pending_imports_of(request.user, brands), pk=pk)
    try:
        record, result = telemetry_imports.telemetry_import_confirm(
            import_id=pending.pk, user=request.user
        )
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except services.TelemetryInvalid as invalid:
        shown = "; ".join(str(e) for e in invalid.errors[:5])
        messages.error(request, f"Nothing was stored: the file no longer passes ({shown}).")
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        skipped = (
            f"; {result.duplicates:,} already stored were skipped" if result.duplicates else ""
        )
        flags = (
            f" {len(result.flags)} flag{pluralize(len(result.flags))} raised or changed "
            "— see the tower."
            if result.flags
            else ""
        )
        messages.success(
            request,
            f"Stored {result.stored:,} event{pluralize(result.stored)} from "
            f"{record.filename}{skipped}.{flags}",
        )
    return redirect("monitoring:telemetry_upload")


def _upload_brands(request: HttpRequest) -> list[Any]:
    brands = [
        brand
        for brand in policies.visible_brands(request.user)
        if policies.can_upload_telemetry(request.user, brand)
    ]
    if not brands:
        raise PermissionDenied("Telemetry uploads are for managers and admins of a brand.")
    return brands
