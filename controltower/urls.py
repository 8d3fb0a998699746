from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

# The root URLconf names the apps' URL modules by string (``include("approvals.urls")``):
# wiring, not a dependency — the apps above the tower (api) stay above it.
from campaigns import urls as campaigns_urls

from . import views
from .views import campaign as campaign_page

#: The campaign page and what is decided from it, in the campaigns namespace.
campaign_page_patterns = [
    path("<int:pk>/", campaign_page.campaign_detail, name="detail"),
    path("<int:pk>/transition/", campaign_page.campaign_transition, name="transition"),
    path("<int:pk>/backtest/", campaign_page.campaign_backtest, name="backtest"),
    path("<int:pk>/holds/<int:hold_pk>/resolve/", campaign_page.hold_resolve, name="hold_resolve"),
]

admin.site.site_header = "Campaign Control Tower — administration"
admin.site.site_title = "Control Tower admin"

urlpatterns = [
    path("", views.tower, name="tower"),
    path("live/topnav/", views.topnav, name="topnav"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "campaigns/",
        include((campaign_page_patterns + campaigns_urls.urlpatterns, campaigns_urls.app_name)),
    ),
    path("approvals/", include("approvals.urls")),
    path("agents/", include("agents.urls")),
    path("memory/", include("memory.urls")),
    path("contacts/", include("crm.urls")),
    path("monitoring/", include("monitoring.urls")),
    # CSV exports for people (campaigns, telemetry, the audit trail).
    path("exports/", include("integrations.urls")),
    # Outbound webhooks, managed by admins in the app.
    path("webhooks/", include("integrations.webhook_urls")),
    # The public API (tokens, JSON), its schema and docs.
    path("api/v1/", include("api.urls")),
    path("account/api-tokens/", include("api.account_urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page links; the icon is an SVG.
    path("favicon.ico", views.errors.favicon),
]

handler403 = "controltower.views.errors.permission_denied"
handler404 = "controltower.views.errors.not_found"
handler500 = "controltower.views.errors.server_error"
