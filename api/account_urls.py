"""/account/api-tokens/: the pages where people make and revoke their API tokens."""

from django.urls import path

from . import pages

urlpatterns = [
    path("", pages.api_tokens, name="api_tokens"),
    path("<int:pk>/revoke", pages.api_token_revoke_view, name="api_token_revoke"),
]
