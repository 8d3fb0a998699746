from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "campaigns"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tower", query_string=True), name="list"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/transition/", views.campaign_transition, name="transition"),
    path("<int:pk>/backtest/", views.campaign_backtest, name="backtest"),
    path("<int:pk>/holds/<int:hold_pk>/resolve/", views.hold_resolve, name="hold_resolve"),
    path("briefs/", views.brief_list, name="brief_list"),
    path("briefs/new/", views.brief_create, name="brief_create"),
    path("briefs/<int:pk>/", views.brief_detail, name="brief_detail"),
]
