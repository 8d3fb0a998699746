"""Ingestion tokens: a brand's machine credential for posting telemetry. The token is
shown once, at creation; only its SHA-256 is kept, so a leaked database leaks no token."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance import policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from ..models import IngestionToken

PREFIX = "cti_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ingestion_token_create(*, brand: Any, name: str, user: Any) -> tuple[IngestionToken, str]:
    """A new token for ``brand``: the row, and the token itself (show it once)."""
    if not policies.can_configure_monitoring(user):
        raise NotPermitted("Only admins create ingestion tokens.")
    if not name.strip():
        raise DomainError("Name the token after what will use it (e.g. “Ad platform feed”).")
    raw = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = IngestionToken.objects.create(
            brand=brand,
            name=name.strip()[:100],
            prefix=raw[:12],
            digest=digest(raw),
            created_by=user,
        )
        audit_record(
            actor=Actor.for_user(user),
            action="ingestion_token.created",
            target=token,
            brand_id=brand.pk,
            data={"name": token.name, "prefix": token.prefix},
        )
    return token, raw


def ingestion_token_revoke(*, token_id: int, user: Any) -> IngestionToken:
    if not policies.can_configure_monitoring(user):
        raise NotPermitted("Only admins revoke ingestion tokens.")
    with transaction.atomic():
        token = IngestionToken.objects.select_for_update(no_key=True).get(pk=token_id)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(
                actor=Actor.for_user(user),
                action="ingestion_token.revoked",
                target=token,
                brand_id=token.brand_id,
                data={"name": token.name, "prefix": token.prefix},
            )
    return token


def ingestion_token_check(raw: str) -> IngestionToken | None:
    """The live token ``raw`` is, or None. Marks it used (at most once a minute)."""
    if not raw.startswith(PREFIX):
        return None
    token = IngestionToken.objects.filter(digest=digest(raw), revoked_at__isnull=True).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        IngestionToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
