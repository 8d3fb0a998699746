from django.urls import path

from . import views

app_name = "crm"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:brand_slug>/", views.contacts, name="contacts"),
    path("<slug:brand_slug>/import/", views.import_contacts, name="import"),
    path("<slug:brand_slug>/import/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    # Public (the link in campaign emails). Last: a token always holds a ":", so it can
    # never be mistaken for a brand page, nor a brand page for it.
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
