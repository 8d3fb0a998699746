"""Every write to personal API tokens: create (shown once), revoke, check. Audited."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance import policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from .domain.tokens import token_request_problems
from .models import ApiToken

PREFIX = "cct_"


class TokenInvalid(DomainError):
    pass


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *,
    owner: Any,
    name: str,
    scopes: Iterable[str],
    by: Any,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for ``owner`` (made by them, or by an admin): the row and the token
    itself, which is never stored and never shown again."""
    if not policies.can_manage_api_tokens(by, owner):
        raise NotPermitted("You can make tokens for yourself; admins for anyone.")
    scopes = sorted(set(scopes))
    problems = token_request_problems(
        name=name, scopes=scopes, expires_at=expires_at, now=timezone.now()
    )
    if problems:
        raise TokenInvalid(" ".join(problems))
    raw = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=owner,
            name=name.strip()[:100],
            prefix=raw[:12],
            digest=digest(raw),
            scopes=scopes,
            created_by=by,
            expires_at=expires_at,
        )
        audit_record(
            actor=Actor.for_user(by),
            action="api_token.created",
            target=token,
            data={"owner": owner.get_username(), "name": token.name, "scopes": scopes},
        )
    return token, raw


def api_token_revoke(*, token_id: int, by: Any) -> ApiToken:
    with transaction.atomic():
        # Only the token's row: locking its user too would block every audit event
        # that names them at its commit (approvals.services, "Lock order").
        token = (
            ApiToken.objects.select_for_update(no_key=True, of=("self",))
            .select_related("user")
            .get(pk=token_id)
        )
        if not policies.can_manage_api_tokens(by, token.user):
            raise NotPermitted("You can revoke your own tokens; admins anyone's.")
        if token.revoked_at is None:
            token.revoked_at, token.revoked_by = timezone.now(), by
            token.save(update_fields=["revoked_at", "revoked_by"])
            audit_record(
                actor=Actor.for_user(by),
                action="api_token.revoked",
                target=token,
                data={"owner": token.user.get_username(), "name": token.name},
            )
    return token


def api_token_check(raw: str) -> ApiToken | None:
    """The live token ``raw`` is (its owner active), or None. Marks it used (at most
    once a minute, so a busy client does not write on every call)."""
    if not raw.startswith(PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(digest=digest(raw)).first()
    if token is None or not token.is_live or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
