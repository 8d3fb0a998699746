"""One error shape for the whole API: ``{"error": "…", "errors": {field: [...]}}``, with the
services' domain errors mapped to the HTTP status a client expects."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from governance.domain.errors import DomainError, NotPermitted


def _invalid_input() -> tuple[type, ...]:
    """Domain errors that mean the input was wrong (400), not the state (409)."""
    from api.tokens import TokenInvalid
    from governance.domain.errors import ReasonRequired
    from memory.services import MemoryInvalid

    return (ReasonRequired, MemoryInvalid, TokenInvalid)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from approvals.services import AlreadyDecided
    from campaigns.services import BriefInvalid

    if isinstance(exc, BriefInvalid):
        return Response(
            {"error": "The brief was not saved.", "errors": exc.errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, NotPermitted):
        return Response({"error": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, AlreadyDecided):
        return Response({"error": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, _invalid_input()):
        errors = getattr(exc, "errors", None)
        body: dict[str, Any] = {"error": str(exc)}
        if isinstance(errors, dict):
            body["errors"] = errors
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DomainError):  # the request is fine; the state does not allow it
        return Response({"error": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, RequestDataTooBig):
        # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE; left to Django
        # it would answer with its HTML "Bad Request" page.
        return Response({"error": too_big()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"body": response.data}
        response.data = {"error": "The request is not valid.", "errors": errors}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"])}
    return response


def too_big() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return (
        f"The request body is larger than the API reads ({limit / 2**20:.1f} MiB at most); "
        "nothing was saved."
    )
