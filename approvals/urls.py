from django.urls import path

from . import analytics_views, views

app_name = "approvals"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/decide/", views.decide, name="decide"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("away/", views.away, name="away"),
    path("bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("policies/", views.policy_list, name="policies"),
    path("policies/brand/<int:brand_id>/", views.policy_edit, name="policy_edit"),
    path(
        "policies/campaign/<int:campaign_id>/",
        views.campaign_policy_edit,
        name="campaign_policy_edit",
    ),
    path("policies/<int:pk>/", views.policy_proposal, name="policy_proposal"),
    path("analytics/", analytics_views.queue_analytics, name="analytics"),
    path("link/<str:token>/", views.link, name="link"),
]
