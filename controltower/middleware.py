"""Request guards that apply to every page and the API alike."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse


def nul_bytes_refused(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """A query parameter holding a NUL character is refused with a 400 before any view
    sees it: PostgreSQL cannot compare text with one, so a filter such as ``?brand=a%00``
    would otherwise fail in the database as a server error. (Form fields and API bodies
    are checked by Django's and DRF's own validators and by ``api.parsers``.)"""

    def middleware(request: HttpRequest) -> HttpResponse:
        if any("\x00" in key or "\x00" in value for key, value in _query_items(request)):
            message = "Query parameters may not contain NUL (%00) characters."
            if request.path.startswith("/api/"):
                return JsonResponse({"error": message}, status=400)
            return HttpResponseBadRequest(message)
        return get_response(request)

    return middleware


def _query_items(request: HttpRequest):
    for key, values in request.GET.lists():
        for value in values:
            yield key, value
