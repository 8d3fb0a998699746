"""/api/v1/: the public API, its OpenAPI schema and its browsable docs."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import path, reverse
from django.views.decorators.http import require_safe
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from . import views

app_name = "api"


def open_view(view_class, **kwargs):
    """DRF does its own authentication: the site's login redirect must not apply."""
    return login_not_required(view_class.as_view(**kwargs))


@login_not_required
@require_safe
def index(request: HttpRequest) -> JsonResponse:
    """/api/v1/ itself: where the schema, the docs and the resources are (no login needed;
    each resource asks for a token)."""
    links = {
        "schema": reverse("api:schema"),
        "docs": reverse("api:docs"),
        "redoc": reverse("api:redoc"),
        "me": reverse("api:me"),
        "campaigns": reverse("api:campaigns"),
        "briefs": reverse("api:briefs"),
        "approvals": reverse("api:approvals"),
        "tokens": reverse("api:tokens"),
    }
    return JsonResponse(
        {
            "name": "Campaign Control Tower API",
            "version": "1",
            "authentication": "Authorization: Bearer cct_… (a personal token, made at "
            + reverse("api_tokens")
            + ")",
            "links": {name: request.build_absolute_uri(url) for name, url in links.items()},
        }
    )


urlpatterns = [
    path("", index, name="index"),
    path("schema/", open_view(SpectacularAPIView), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script, so
    # the docs page meets the site's Content-Security-Policy.
    path("docs/", open_view(SpectacularSwaggerSplitView, url_name="api:schema"), name="docs"),
    # Redoc from the sidecar, with our template: no Google Fonts (nothing from the internet).
    path(
        "redoc/",
        open_view(SpectacularRedocView, url_name="api:schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    path("me", open_view(views.MeView), name="me"),
    path("campaigns", open_view(views.CampaignList), name="campaigns"),
    path("campaigns/<int:pk>", open_view(views.CampaignDetail), name="campaign"),
    path("campaigns/<int:pk>/pause", open_view(views.CampaignPause), name="campaign_pause"),
    path("campaigns/<int:pk>/resume", open_view(views.CampaignResume), name="campaign_resume"),
    path("briefs", open_view(views.BriefList), name="briefs"),
    path("approvals", open_view(views.ApprovalList), name="approvals"),
    path("approvals/<int:pk>/decide", open_view(views.ApprovalDecide), name="approval_decide"),
    path("brands/<slug:slug>/memory", open_view(views.MemoryEntries), name="memory"),
    path("audit/export", open_view(views.AuditExport), name="audit_export"),
    path("telemetry/events", open_view(views.TelemetryEvents), name="telemetry_events"),
    path("tokens", open_view(views.Tokens), name="tokens"),
    path("tokens/<int:pk>", open_view(views.TokenRevoke), name="token_revoke"),
]
