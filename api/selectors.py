"""Reads for the API app."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from governance import policies

from .models import ApiToken


def tokens_manageable_by(user: Any) -> QuerySet[ApiToken]:
    """The tokens ``user`` may see and revoke: their own; an admin's, everyone's
    (``policies.can_manage_api_tokens`` decides each write)."""
    tokens = ApiToken.objects.select_related("user", "created_by", "revoked_by")
    return tokens if policies.is_admin(user) else tokens.filter(user=user)
