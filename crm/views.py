"""Contact pages: thin adapters over selectors (reads) and services (writes).

Brands the user cannot see answer 404; a brand they see but whose contacts they may not
manage (legal reviewers) answers 403. The one public page is the unsubscribe link from a
campaign email (:func:`unsubscribe`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from campaigns.models import Brand
from governance import policies
from governance.domain.errors import DomainError, NotPermitted

from . import selectors, services
from .domain.contacts_csv import MAX_FILE_BYTES, ParseResult, UploadUnreadable, decode_upload
from .domain.privacy import masked_email
from .models import Contact, Subscription

PAGE_SIZE = 50
PREVIEW_ROWS = 20
PREVIEW_FLAGGED_ROWS = 200


def index(request: HttpRequest) -> HttpResponse:
    if not policies.can_manage_contacts_somewhere(request.user):
        raise PermissionDenied("Only marketing managers and admins manage contacts.")
    brands = list(policies.contact_brands(request.user))
    counts = selectors.brand_contact_counts(b.pk for b in brands)
    rows = [
        {
            "brand": b,
            "total": counts.get(b.pk, {}).get("total", 0),
            "flagged": counts.get(b.pk, {}).get("flagged", 0),
        }
        for b in brands
    ]
    return render(request, "crm/index.html", {"rows": rows})


def contacts(request: HttpRequest, brand_slug: str) -> HttpResponse:
    brand = _brand(request, brand_slug)
    status = request.GET.get("status", "")
    filters = {
        "flagged": request.GET.get("flagged") == "1",
        "status": status if status in selectors.STATUS_FILTERS else "",
        "segment": request.GET.get("segment", "").strip()[:100],
    }
    page = Paginator(selectors.contacts_for_page(brand.pk, **filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = urlencode({k: ("1" if v is True else v) for k, v in filters.items() if v})
    context = {
        "brand": brand,
        "page": page,
        "filters": filters,
        "query": query,
        "status_filters": selectors.STATUS_FILTERS,
        "segments": selectors.contact_segments(brand.pk),
        "summary": selectors.contacts_summary(brand.pk, top=0),
        "imports": selectors.recent_imports(brand.pk),
    }
    template = "crm/contacts.html"
    if request.htmx:
        template += "#contact-table"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def import_contacts(request: HttpRequest, brand_slug: str) -> HttpResponse:
    """GET: the upload form. POST: the preview of an uploaded file; when it has no
    errors it is kept (pending) and the page offers to confirm it."""
    brand = _brand(request, brand_slug)
    if request.method == "GET":
        return render(request, "crm/import.html", _import_context(brand))

    upload = request.FILES.get("file")
    if upload is None:
        return _upload_refused(request, brand, "Choose a CSV file to upload.")
    if upload.size > MAX_FILE_BYTES:
        return _upload_refused(
            request,
            brand,
            f"This file is {upload.size / 1_048_576:.1f} MB; files up to "
            f"{MAX_FILE_BYTES // 1_048_576} MB can be imported. Split it into smaller files.",
        )
    try:
        text = decode_upload(upload.read())
    except UploadUnreadable as exc:
        return _upload_refused(request, brand, str(exc))

    try:
        pending, parsed = services.contact_import_stage(
            brand=brand, uploaded_by=request.user, filename=upload.name or "", text=text
        )
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except services.ContactImportInvalid as exc:
        context = _import_context(brand) | _preview(brand, exc.result, filename=upload.name)
        return render(request, "crm/import.html", context, status=422)
    context = _import_context(brand) | _preview(brand, parsed, filename=pending.filename)
    context["pending"] = pending
    return render(request, "crm/import.html", context)


@require_POST
def import_confirm(request: HttpRequest, brand_slug: str, pk: int) -> HttpResponse:
    brand = _brand(request, brand_slug)
    # Someone else's upload does not exist for this user, like another brand.
    pending = get_object_or_404(selectors.pending_imports(brand.pk, request.user), pk=pk)
    try:
        record = services.contact_import_confirm(import_id=pending.pk, user=request.user)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("crm:import", brand_slug=brand.slug)
    flagged = (
        f" {record.flagged_count} flagged as reading like instructions: they are kept, "
        "marked, and never shown to agents as text."
        if record.flagged_count
        else ""
    )
    messages.success(
        request,
        f"Imported {record.rows_total} contacts from {record.filename}: "
        f"{record.created_count} new, {record.updated_count} updated.{flagged}",
    )
    return redirect("crm:contacts", brand_slug=brand.slug)


# --- Unsubscribe (public: the link in every campaign email) ---------------------------


@login_not_required
@csrf_exempt  # TRICKY: for the RFC 8058 one-click POST only; the form POST is checked below.
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: what the link will do, and a button — GET never unsubscribes (mail scanners
    prefetch links). POST from that button: unsubscribe (CSRF-checked). POST with the
    body ``List-Unsubscribe=One-Click``: a mail provider's one-click unsubscribe (RFC
    8058), which comes without cookies or a CSRF token; the signed link is its proof."""
    try:
        contact = services.contact_unsubscribe_link_read(token)
    except services.UnsubscribeLinkInvalid as exc:
        return _unsubscribe_page(request, error=str(exc), status=400)
    except services.UnsubscribeContactUnknown as exc:
        return _unsubscribe_page(request, error=str(exc), status=404)
    if request.method != "POST":
        return _unsubscribe_page(request, contact=contact)
    if request.POST.get("List-Unsubscribe") == "One-Click":
        return _unsubscribe_done(request, contact, via="one_click")
    return _unsubscribe_confirmed(request, contact)


@csrf_protect
def _unsubscribe_confirmed(request: HttpRequest, contact: Contact) -> HttpResponse:
    return _unsubscribe_done(request, contact, via="link")


def _unsubscribe_done(request: HttpRequest, contact: Contact, *, via: str) -> HttpResponse:
    changed = services.contact_unsubscribe(contact_id=contact.pk, via=via)
    return _unsubscribe_page(request, contact=contact, done=changed, already=not changed)


def _unsubscribe_page(
    request: HttpRequest,
    *,
    contact: Contact | None = None,
    error: str = "",
    done: bool = False,
    already: bool = False,
    status: int = 200,
) -> HttpResponse:
    if contact is not None and not done:
        already = already or contact.subscription == Subscription.UNSUBSCRIBED
    context: dict[str, Any] = {"error": error, "done": done, "already": already}
    if contact is not None:
        # Whoever holds the link sees whose it is, never the whole address.
        context |= {"masked_email": masked_email(contact.email), "brand_name": contact.brand.name}
    return render(request, "crm/unsubscribe.html", context, status=status)


def _brand(request: HttpRequest, slug: str) -> Brand:
    brand = get_object_or_404(policies.visible_brands(request.user), slug=slug)
    if not policies.can_manage_contacts(request.user, brand):
        raise PermissionDenied("Only marketing managers and admins manage contacts.")
    return brand


def _import_context(brand: Brand) -> dict[str, Any]:
    return {"brand": brand, "max_megabytes": MAX_FILE_BYTES // 1_048_576}


def _upload_refused(request: HttpRequest, brand: Brand, error: str) -> HttpResponse:
    context = _import_context(brand) | {"upload_error": error}
    return render(request, "crm/import.html", context, status=422)


def _preview(brand: Brand, parsed: ParseResult, *, filename: str | None) -> dict[str, Any]:
    existing = selectors.existing_emails_count(brand.pk, [r.email for r in parsed.rows])
    flagged = parsed.flagged_rows
    return {
        "preview": {
            "filename": filename or "",
            "rows": parsed.rows[:PREVIEW_ROWS],
            "rows_total": len(parsed.rows),
            "more_rows": max(len(parsed.rows) - PREVIEW_ROWS, 0),
            "errors": parsed.errors,
            "warnings": parsed.warnings,
            "flagged": flagged[:PREVIEW_FLAGGED_ROWS],
            "flagged_total": len(flagged),
            "existing": existing,
            "new": len(parsed.rows) - existing,
            "columns": parsed.columns,
        }
    }
