from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import pages as api_pages

from . import views

admin.site.site_header = "Campaign Control Tower — administration"
admin.site.site_title = "Control Tower admin"

urlpatterns = [
    path("", views.tower, name="tower"),
    path("live/topnav/", views.topnav, name="topnav"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("campaigns/", include("campaigns.urls")),
    path("approvals/", include("approvals.urls")),
    path("agents/", include("agents.urls")),
    path("memory/", include("memory.urls")),
    path("contacts/", include("crm.urls")),
    path("monitoring/", include("monitoring.urls")),
    # CSV exports for people (campaigns, telemetry, the audit trail).
    path("exports/", include("integrations.urls")),
    # The public API (tokens, JSON), its schema and docs.
    path("api/v1/", include("api.urls")),
    path("account/api-tokens/", api_pages.api_tokens, name="api_tokens"),
    path(
        "account/api-tokens/<int:pk>/revoke",
        api_pages.api_token_revoke_view,
        name="api_token_revoke",
    ),
    path("admin/", admin.site.urls),
]

handler404 = "controltower.views.not_found"
handler500 = "controltower.views.server_error"
