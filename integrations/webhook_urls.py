"""/webhooks/: admins manage a brand's outbound webhooks in the app."""

from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("", views.webhooks, name="list"),
    path("<int:pk>/", views.webhook_detail, name="detail"),
    path("<int:pk>/<str:action>/", views.webhook_act, name="act"),
]
