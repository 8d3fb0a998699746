from django.urls import path

from . import views

app_name = "memory"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.brand_memory, name="brand"),
    path("<slug:slug>/entries/new/", views.entry_create, name="entry_create"),
    path("<slug:slug>/entries/<int:pk>/", views.entry_detail, name="entry"),
    path("<slug:slug>/entries/<int:pk>/edit/", views.entry_edit, name="entry_edit"),
    path("<slug:slug>/entries/<int:pk>/retire/", views.entry_retire, name="entry_retire"),
    path("<slug:slug>/claims/", views.claims, name="claims"),
    path("<slug:slug>/claims/new/", views.claim_create, name="claim_create"),
    path("<slug:slug>/claims/<int:pk>/review/", views.claim_review, name="claim_review"),
    path("<slug:slug>/claims/<int:pk>/retire/", views.claim_retire, name="claim_retire"),
]
