from django.urls import path

from . import views

app_name = "monitoring"

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("escalations/", views.escalations, name="escalations"),
    path(
        "escalations/<int:pk>/acknowledge/",
        views.escalation_acknowledge,
        name="escalation_acknowledge",
    ),
    path("escalations/<int:pk>/resolve/", views.escalation_resolve, name="escalation_resolve"),
    path("campaigns/<int:campaign_pk>/silences/", views.silence_create, name="silence_create"),
    path("silences/<int:pk>/end/", views.silence_end, name="silence_end"),
    path("paused/<int:pk>/resume/", views.breaker_resume, name="breaker_resume"),
    path("telemetry/upload/", views.telemetry_upload, name="telemetry_upload"),
    path(
        "telemetry/upload/<int:pk>/confirm/",
        views.telemetry_import_confirm,
        name="telemetry_import_confirm",
    ),
]
