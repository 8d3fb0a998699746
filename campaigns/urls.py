from django.urls import path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/transition/", views.campaign_transition, name="transition"),
    path("briefs/", views.brief_list, name="brief_list"),
    path("briefs/new/", views.brief_create, name="brief_create"),
    path("briefs/<int:pk>/", views.brief_detail, name="brief_detail"),
]
