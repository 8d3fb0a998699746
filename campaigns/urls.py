from django.urls import path
from django.views.generic import RedirectView

from . import views

# The campaign page itself composes every app, so it is routed from above
# (controltower.views.campaign, in this namespace: ``campaigns:detail``…).

app_name = "campaigns"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tower", query_string=True), name="list"),
    path("briefs/", views.brief_list, name="brief_list"),
    path("briefs/new/", views.brief_create, name="brief_create"),
    path("briefs/<int:pk>/", views.brief_detail, name="brief_detail"),
]
