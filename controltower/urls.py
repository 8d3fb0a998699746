from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from monitoring import views as monitoring_views

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
    # Machine endpoints (token-authenticated, JSON).
    path("api/v1/telemetry/events", monitoring_views.api_ingest, name="api_telemetry_events"),
    path("admin/", admin.site.urls),
]
