"""CSV downloads, and the webhook pages admins manage subscriptions on: thin adapters over
``integrations.exports``, ``integrations.services`` and ``integrations.selectors``.

CSV downloads: every export is scoped to the brands the user may see; a campaign of
another brand answers 404 (its existence does not leak); the audit trail is for admins.
Responses stream, so a big table costs the server one chunk of memory and starts
downloading at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from governance import policies
from governance.domain.errors import DomainError
from governance.exports import AuditFilter, ExportFilterInvalid

from . import exports, selectors, services
from .forms import WebhookForm


@require_GET
def campaigns_csv(request: HttpRequest) -> HttpResponse:
    return _csv(
        request,
        exports.CAMPAIGN_COLUMNS,
        exports.campaign_rows_for_user(request.user),
        exports.filename("campaigns"),
    )


@require_GET
def telemetry_csv(request: HttpRequest) -> HttpResponse:
    try:
        telemetry_filter = exports.TelemetryFilter.from_params(request.GET)
    except ExportFilterInvalid as invalid:
        return _bad_request(invalid)
    suffix = ""
    if telemetry_filter.campaign_id is not None:
        if not exports.campaign_visible(request.user, telemetry_filter.campaign_id):
            raise Http404("No such campaign.")
        suffix = f"campaign-{telemetry_filter.campaign_id}"
    return _csv(
        request,
        exports.TELEMETRY_COLUMNS,
        exports.telemetry_rows_for_user(request.user, telemetry_filter),
        exports.filename("telemetry", suffix=suffix),
    )


@require_GET
def audit_csv(request: HttpRequest) -> HttpResponse:
    if not policies.is_admin(request.user):
        raise PermissionDenied("The audit trail export is for admins.")
    try:
        audit_filter = AuditFilter.from_params(request.GET, user=request.user)
    except ExportFilterInvalid as invalid:
        return _bad_request(invalid)
    return _csv(
        request,
        exports.AUDIT_COLUMNS,
        exports.audit_rows_for_user(request.user, audit_filter),
        exports.filename("audit-events"),
    )


def _csv(
    request: HttpRequest, columns: Sequence[str], rows: Iterable[Sequence[object]], name: str
) -> HttpResponse:
    response = StreamingHttpResponse(
        streamed(request, exports.csv_chunks(columns, rows)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    # Exports carry business data: never kept by a shared cache or the browser's.
    response["Cache-Control"] = "private, no-store"
    return response


def streamed(request: HttpRequest, chunks: Iterator[str]) -> Iterator[str] | AsyncIterator[str]:
    """What to give ``StreamingHttpResponse`` so it really streams under this server."""
    return _async_chunks(chunks) if isinstance(request, ASGIRequest) else chunks


async def _async_chunks(chunks: Iterator[str]) -> AsyncIterator[str]:
    """The chunks, for an ASGI server (uvicorn serves the app).

    TRICKY: given a plain iterator, Django's ASGI handler reads the whole of it into a
    list before sending a byte — a million-row export would sit in memory. Each chunk is
    read here in the request's own thread (thread_sensitive), where its database
    connection and server-side cursor live."""
    read = sync_to_async(next, thread_sensitive=True)
    while (chunk := await read(chunks, None)) is not None:
        yield chunk


def _bad_request(invalid: ExportFilterInvalid) -> HttpResponse:
    lines = [f"{name}: {message}" for name, message in invalid.errors.items()]
    return HttpResponse(
        "The export was not made:\n" + "\n".join(lines) + "\n",
        status=400,
        content_type="text/plain; charset=utf-8",
    )


# --- Webhooks, managed in the app --------------------------------------------------------


def _admin_only(request: HttpRequest) -> None:
    if not policies.can_configure_monitoring(request.user):
        raise PermissionDenied("Only admins manage webhooks.")


def webhooks(request: HttpRequest) -> HttpResponse:
    """The brands' subscriptions, and a form to add one; its secret is shown once."""
    _admin_only(request)
    form = WebhookForm(request.POST or None, user=request.user)
    secret = None
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            for field, errors in services.subscription_problems(
                url=form.cleaned_data["url"], events=form.cleaned_data["events"]
            ).items():
                for error in errors:
                    form.add_error(field, error)
        if form.is_valid():
            try:
                subscription, secret = services.webhook_subscribe(
                    brand=form.cleaned_data["brand"],
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                    user=request.user,
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Subscribed {subscription.url}.")
                form, status = WebhookForm(user=request.user), 200
    return render(
        request,
        "integrations/webhooks.html",
        {"subscriptions": selectors.webhooks_for(request.user), "form": form, "secret": secret},
        status=status,
    )


def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One subscription and its latest deliveries."""
    _admin_only(request)
    subscription = get_object_or_404(selectors.webhooks_for(request.user), pk=pk)
    return render(
        request,
        "integrations/webhook_detail.html",
        {"subscription": subscription, "deliveries": selectors.webhook_deliveries(subscription)},
    )


ACTIONS = {
    "pause": services.webhook_pause,
    "resume": services.webhook_resume,
    "revoke": services.webhook_revoke,
    "test": services.webhook_send_test,
}


@require_POST
def webhook_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Pause, resume, revoke or send a test; refusals come back as a message on the list."""
    _admin_only(request)
    subscription = get_object_or_404(selectors.webhooks_for(request.user), pk=pk)
    act = ACTIONS.get(action)
    if act is None:
        raise Http404("No such action.")
    try:
        result = act(subscription_id=subscription.pk, user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        if action == "test":
            if result.status == "sent":
                messages.success(
                    request, f"Test sent: {subscription.url} answered {result.last_status_code}."
                )
            else:
                messages.error(request, f"Test failed: {result.last_error or result.status}.")
        else:
            done = {"pause": "Paused", "resume": "Resumed", "revoke": "Revoked"}[action]
            messages.success(request, f"{done}: {subscription.url}.")
    back = request.POST.get("next", "")
    if back == "detail":
        return redirect("webhooks:detail", pk=subscription.pk)
    return redirect("webhooks:list")
