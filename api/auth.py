"""How the API knows who is calling: a personal token (``Authorization: Bearer cct_…``),
or the person's browser session (the docs page). Scopes limit a token; roles and
per-brand permissions still decide everything, exactly as in the web UI."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions, permissions

from governance import policies

from .tokens import PREFIX, api_token_check


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(f"{self.keyword} "):
            return None
        raw = header[len(self.keyword) + 1 :].strip()
        if not raw.startswith(PREFIX):
            return None  # not ours (an ingestion token, say): let another class try
        token = api_token_check(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("This API token is unknown, revoked or expired.")
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return f'{self.keyword} realm="api"'


def scopes_of(request: Any) -> list[str] | None:
    """The calling token's scopes; None for a session (a person at the docs page)."""
    token = getattr(request, "auth", None)
    return list(token.scopes) if hasattr(token, "scopes") else None


class HasScope(permissions.BasePermission):
    """Each view says what it needs per method (``scopes = {"GET": "read", …}``)."""

    message = "This token's scopes do not allow this."

    def has_permission(self, request: Any, view: Any) -> bool:
        needed = getattr(view, "scopes", {}).get(request.method, "read")
        if not policies.api_scope_allows(scopes_of(request), needed):
            self.message = f"This token lacks the “{needed}” scope."
            return False
        return True
