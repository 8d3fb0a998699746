"""Brand memory and claims registry pages: thin adapters over selectors (reads) and services
(writes). A brand the user is not assigned to does not exist for them (404)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from campaigns.models import Brand
from governance import policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted

from . import selectors, services
from .domain.claims import LIVE_STATUSES, ClaimStatus
from .forms import (
    EVIDENCE_FIELDS,
    ClaimForm,
    ClaimRetireForm,
    ClaimReviewForm,
    EntryForm,
    RetireForm,
)
from .models import Claim, EntryStatus, MemoryEntry


def _brand(request: HttpRequest, slug: str) -> Brand:
    return get_object_or_404(policies.visible_brands(request.user), slug=slug)


def _require_editor(request: HttpRequest, brand: Brand) -> None:
    if not policies.can_edit_memory(request.user, brand):
        raise PermissionDenied("Only the brand's marketing managers and admins edit its memory.")


def _add_errors(form: forms.Form, errors: dict[str, list[str]], renames: dict[str, str]) -> None:
    """Put a service's ``{field: [message]}`` on the form (unknown fields above it)."""
    for name, field_errors in errors.items():
        field = renames.get(name, name)
        for message in field_errors:
            form.add_error(field if field in form.fields else None, message)


def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "memory/index.html",
        {"brands": selectors.memory_brands_for_user(request.user)},
    )


# --- Brand memory ---------------------------------------------------------------------------


def brand_memory(request: HttpRequest, slug: str) -> HttpResponse:
    brand = _brand(request, slug)
    show_retired = request.GET.get("show") == "retired"
    return render(
        request,
        "memory/brand.html",
        {
            "brand": brand,
            "groups": selectors.memory_by_kind(brand, show_retired=show_retired),
            "show_retired": show_retired,
            "can_edit": policies.can_edit_memory(request.user, brand),
        },
    )


def entry_create(request: HttpRequest, slug: str) -> HttpResponse:
    brand = _brand(request, slug)
    _require_editor(request, brand)
    form = EntryForm(request.POST or None, brand=brand, initial={"kind": request.GET.get("kind")})
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                entry = services.memory_entry_create(
                    brand_id=brand.pk,
                    kind=form.cleaned_data["kind"],
                    text=form.cleaned_data["text"],
                    evidence=form.evidence(),
                    note=form.cleaned_data["note"],
                    actor=Actor.for_user(request.user),
                )
            except services.MemoryInvalid as exc:
                _add_errors(form, exc.errors, EVIDENCE_FIELDS)
            except NotPermitted as exc:
                raise PermissionDenied(str(exc)) from exc
            else:
                messages.success(request, f"Added {entry.ref} to {brand.name}'s memory.")
                return redirect("memory:entry", slug=brand.slug, pk=entry.pk)
    return render(request, "memory/entry_form.html", {"brand": brand, "form": form}, status=status)


def _entry(brand: Brand, pk: int) -> MemoryEntry:
    return get_object_or_404(selectors.brand_memory_entries(brand), pk=pk)


def _entry_page(
    request: HttpRequest,
    brand: Brand,
    entry: MemoryEntry,
    *,
    edit_form: EntryForm | None = None,
    retire_form: RetireForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_edit = policies.can_edit_memory(request.user, brand) and entry.status == EntryStatus.ACTIVE
    if can_edit:
        edit_form = edit_form or EntryForm(
            brand=brand, with_kind=False, initial=EntryForm.initial_from(entry)
        )
        retire_form = retire_form or RetireForm(initial={"version": entry.version})
    return render(
        request,
        "memory/entry.html",
        {
            "brand": brand,
            "entry": entry,
            "versions": selectors.entry_history(entry),
            "can_edit": can_edit,
            "edit_form": edit_form,
            "retire_form": retire_form,
        },
        status=status,
    )


def entry_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    brand = _brand(request, slug)
    return _entry_page(request, brand, _entry(brand, pk))


@require_POST
def entry_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    brand = _brand(request, slug)
    entry = _entry(brand, pk)
    _require_editor(request, brand)
    form = EntryForm(request.POST, brand=brand, with_kind=False)
    if form.is_valid():
        try:
            entry = services.memory_entry_revise(
                brand_id=brand.pk,
                entry_id=entry.pk,
                text=form.cleaned_data["text"],
                evidence=form.evidence(),
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data["version"],
                actor=Actor.for_user(request.user),
            )
        except services.MemoryInvalid as exc:
            _add_errors(form, exc.errors, EVIDENCE_FIELDS)
        except NotPermitted as exc:
            raise PermissionDenied(str(exc)) from exc
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Saved version {entry.version} of {entry.ref}.")
            return redirect("memory:entry", slug=brand.slug, pk=entry.pk)
    entry.refresh_from_db()
    return _entry_page(request, brand, entry, edit_form=form, status=422)


@require_POST
def entry_retire(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    brand = _brand(request, slug)
    entry = _entry(brand, pk)
    _require_editor(request, brand)
    form = RetireForm(request.POST)
    if form.is_valid():
        try:
            entry = services.memory_entry_retire(
                brand_id=brand.pk,
                entry_id=entry.pk,
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data["version"],
                actor=Actor.for_user(request.user),
            )
        except services.MemoryInvalid as exc:
            _add_errors(form, exc.errors, {})
        except NotPermitted as exc:
            raise PermissionDenied(str(exc)) from exc
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Retired {entry.ref}: agents no longer read it.")
            return redirect("memory:brand", slug=brand.slug)
    entry.refresh_from_db()
    return _entry_page(request, brand, entry, retire_form=form, status=422)


# --- The claims registry --------------------------------------------------------------------


def _row_context(request: HttpRequest, row: selectors.ClaimRow, *, error: str = "") -> dict:
    claim = row.claim
    return {
        "row": row,
        "claim": claim,
        "can_review": claim.status == ClaimStatus.PENDING
        and policies.claim_review_refusal(request.user, claim) is None,
        "can_retire": claim.status in LIVE_STATUSES
        and policies.can_retire_claims(request.user, claim.brand),
        "can_renew": claim.status == ClaimStatus.APPROVED
        and policies.can_propose_claims(request.user, claim.brand),
        "error": error,
    }


def claims(request: HttpRequest, slug: str) -> HttpResponse:
    brand = _brand(request, slug)
    return render(
        request,
        "memory/claims.html",
        {
            "brand": brand,
            "rows": [_row_context(request, row) for row in selectors.claims_for_brand(brand)],
            "can_propose": policies.can_propose_claims(request.user, brand),
            "can_review": policies.can_review_claims(request.user, brand),
        },
    )


def claim_create(request: HttpRequest, slug: str) -> HttpResponse:
    brand = _brand(request, slug)
    if not policies.can_propose_claims(request.user, brand):
        raise PermissionDenied("Only the brand's marketing managers and admins propose claims.")
    renews = None
    renews_id = request.POST.get("renews") or request.GET.get("renews") or ""
    if renews_id:
        if not renews_id.isdigit():
            raise Http404("No such claim.")
        renews = get_object_or_404(selectors.brand_claims(brand), pk=renews_id)
    initial = ClaimForm.initial_from(renews) if renews else {}
    form = ClaimForm(request.POST or None, brand=brand, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                claim = services.claim_propose(
                    brand_id=brand.pk,
                    spec=form.spec(),
                    legal_owner=form.cleaned_data["legal_owner"],
                    proposer=request.user,
                    renews_id=renews.pk if renews else None,
                )
            except services.ClaimInvalid as exc:
                _add_errors(form, exc.errors, {})
            except NotPermitted as exc:
                raise PermissionDenied(str(exc)) from exc
            else:
                messages.success(request, f"{claim.ref} proposed: it waits for legal review.")
                return redirect("memory:claims", slug=brand.slug)
    return render(
        request,
        "memory/claim_form.html",
        {"brand": brand, "form": form, "renews": renews},
        status=status,
    )


def _claim_response(
    request: HttpRequest, claim: Claim, *, error: str = "", done: str = ""
) -> HttpResponse:
    claim.refresh_from_db()
    if request.htmx:
        context = {
            "brand": claim.brand,
            **_row_context(request, selectors.claim_row(claim), error=error),
            "done": done,
        }
        return render(
            request, "memory/claims.html#claim-row", context, status=422 if error else 200
        )
    if error:
        messages.error(request, f"{claim.ref}: {error}")
    else:
        messages.success(request, done)
    return redirect("memory:claims", slug=claim.brand.slug)


@require_POST
def claim_review(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    brand = _brand(request, slug)
    claim = get_object_or_404(selectors.brand_claims_to_decide(brand), pk=pk)
    form = ClaimReviewForm(request.POST)
    if not form.is_valid():
        return _claim_response(request, claim, error="Choose approve or reject.")
    approve = form.cleaned_data["verdict"] == "approve"
    try:
        claim = services.claim_review(
            claim_id=claim.pk,
            reviewer=request.user,
            approve=approve,
            note=form.cleaned_data["note"],
        )
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        return _claim_response(request, claim, error=str(exc))
    verdict = "approved: drafts may now use it" if approve else "rejected"
    moved = len(getattr(claim, "moved_requests", []))
    if moved:
        verdict += (
            f"; {moved} draft{'s' if moved != 1 else ''} that waited only for it went on to "
            "the marketing manager's queue"
        )
    return _claim_response(request, claim, done=f"{claim.ref} {verdict}.")


@require_POST
def claim_retire(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    brand = _brand(request, slug)
    claim = get_object_or_404(selectors.brand_claims_to_decide(brand), pk=pk)
    form = ClaimRetireForm(request.POST)
    if not form.is_valid():
        return _claim_response(request, claim, error="Say why the claim is withdrawn.")
    try:
        claim = services.claim_retire(
            claim_id=claim.pk, user=request.user, note=form.cleaned_data["note"]
        )
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from exc
    except DomainError as exc:
        return _claim_response(request, claim, error=str(exc))
    return _claim_response(request, claim, done=f"{claim.ref} retired: drafts using it need legal.")
