"""/api/v1/: the public API, its OpenAPI schema and its browsable docs."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
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


urlpatterns = [
    path("schema/", open_view(SpectacularAPIView), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script, so
    # the docs page meets the site's Content-Security-Policy.
    path("docs/", open_view(SpectacularSwaggerSplitView, url_name="api:schema"), name="docs"),
    path("redoc/", open_view(SpectacularRedocView, url_name="api:schema"), name="redoc"),
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
