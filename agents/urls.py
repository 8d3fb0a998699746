from django.urls import path

from . import views

app_name = "agents"

urlpatterns = [
    path("", views.index, name="index"),
    path("campaigns/<int:pk>/ask/", views.ask, name="ask"),
    path("<slug:agent>/", views.detail, name="detail"),
]
