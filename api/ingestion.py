"""Ingestion tokens on the API: a brand's machine credential for posting telemetry (see
``monitoring.services.tokens``), accepted on the telemetry endpoint only."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions


class Machine:
    """Who calls with an ingestion token: no person, just the brand's feed."""

    is_authenticated = True
    is_active = True
    pk = None

    def __init__(self, token: Any) -> None:
        self.token = token

    def get_username(self) -> str:
        return f"ingestion:{self.token.prefix}"


class IngestionTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        from monitoring.services.tokens import PREFIX, ingestion_token_check

        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith("Bearer "):
            return None
        raw = header[len("Bearer ") :].strip()
        if not raw.startswith(PREFIX):
            return None
        token = ingestion_token_check(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("This ingestion token is unknown or revoked.")
        return Machine(token), token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
