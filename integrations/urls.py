from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("campaigns.csv", views.campaigns_csv, name="export_campaigns"),
    path("telemetry.csv", views.telemetry_csv, name="export_telemetry"),
    path("audit-events.csv", views.audit_csv, name="export_audit_events"),
]
