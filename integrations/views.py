"""CSV downloads: thin adapters over ``integrations.exports``. Every export is scoped to
the brands the user may see; a campaign of another brand answers 404 (its existence does
not leak); the audit trail is for admins. Responses stream, so a big table costs the
server one chunk of memory and starts downloading at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence

from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from governance import policies
from governance.exports import AuditFilter, ExportFilterInvalid

from . import exports


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
