"""The error pages: 403, 404 and 500, as the product's pages (navigation, a way back).

Under /api/ an error is JSON in the API's one error shape (``{"error": "…"}``), whatever
raised it (a URL no route matches, say); everywhere else it is the site's page. An htmx
request gets a short fragment to show where it asked, not a whole page.

With ``DEBUG`` on, Django answers a 404 with its technical page; ``product_404_pages``
(a middleware) puts the product's page in its place for a person's page, so the demo (run
with ``DEBUG=1``) shows what a user would see. Django's technical 500 page stays in DEBUG:
it is the developer's.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.csrf import requires_csrf_token

#: Paths whose 404s stay Django's own in DEBUG (a developer's, not a person's page).
DEVELOPER_PATHS = ("/static/", "/media/", "/__debug__/", "/__reload__/")

API_NOT_FOUND = "No such resource."  # /api/v1/ lists what there is
NOT_FOUND = "There is no page at this address. It may have moved, or the link may be mistyped."
FORBIDDEN = "Your role does not let you open this page."


def is_api(request: HttpRequest) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _page(request: HttpRequest, template: str, status: int, context: dict) -> HttpResponse:
    if _is_htmx(request):
        template += "#error-fragment"  # where the htmx request asked: a line, not a page
    body = loader.render_to_string(template, context, request=request)
    response = HttpResponse(body, status=status)
    response.product_error_page = True  # see product_404_pages
    return response


@requires_csrf_token
def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"error": API_NOT_FOUND}, status=404)
    return _page(request, "404.html", 404, {"message": NOT_FOUND, "path": request.path})


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = str(exception) if exception is not None and str(exception) else ""
    if is_api(request):
        return JsonResponse({"error": reason or "You are not allowed to do this."}, status=403)
    return _page(request, "403.html", 403, {"reason": reason, "message": FORBIDDEN})


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return JsonResponse(
            {"error": "Something went wrong on our side; it is logged."}, status=500
        )
    # No request context: whatever failed (the database, a context processor) must not
    # fail the error page too. The page shows the anonymous header and a way back.
    response = HttpResponse(loader.render_to_string("500.html", {}), status=500)
    response.product_error_page = True
    return response


def product_404_pages(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """With ``DEBUG`` on, a 404 Django rendered as its technical page becomes the
    product's 404 (JSON under /api/). Off, ``handler404`` already answers: nothing to do."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and not getattr(response, "product_error_page", False)
            and _is_django_page(response)
            and not request.path.startswith(DEVELOPER_PATHS)
        ):
            return not_found(request)
        return response

    return middleware


def _is_django_page(response: HttpResponse) -> bool:
    """Django's technical 404 page, by its title; a view's own 404 (an unsubscribe page,
    a JSON body) carries its own content and is left alone."""
    if response.get("Content-Type", "").split(";")[0] != "text/html":
        return False
    if getattr(response, "streaming", False):
        return False
    return b"<title>Page not found at " in response.content[:4000]


@login_not_required
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page links: the icon is an SVG (no 404 in
    any page's console)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))
