"""Writes of the ground floor: the audit trail, brand assignments, audit checkpoints.

Lock order (every service in every app)
---------------------------------------
Every write ends at the audit chain head (``audit_record`` locks its single row), so
the head serialises all writers. A transaction takes its row locks in this order and
the head **last**:

    1. the item the request is about: an agent run, an approval request, a hold, a
       flag, a content variant, a claim, a policy version (one of them)
    2. its campaign
    3. rows under the campaign the change touches (its escalations, daily spend…)
    4. its brand (brand-wide state: memory, contacts)
    5. the audit chain head — taken by the first ``audit_record``, held to commit

Three rules keep that order true (issue 13: 43 deadlocks from ten briefs at once):

- **Nothing waits for a row lock after the first ``audit_record``.** A transaction
  holding the head that waits for a row closes a cycle with whoever holds the row and
  waits for the head. Lock what a later step will lock up front (e.g.
  ``agents.services.runs._stop`` locks the campaign before its audit event, because the
  escalation after it locks the campaign too); new rows you just created are fine.
- **Parent rows are locked FOR NO KEY UPDATE** (``select_for_update(no_key=True)``):
  brands, campaigns, runs, approval requests, policies. TRICKY: Django's foreign keys
  are DEFERRABLE INITIALLY DEFERRED on PostgreSQL, so every row a transaction inserted
  (its audit events name a brand and a campaign) has its foreign keys checked at
  COMMIT, with FOR KEY SHARE on the row pointed at — while the transaction holds the
  head. A plain FOR UPDATE on that brand or campaign, held by a transaction waiting for
  the head, is a deadlock ("while locking a campaigns_brand row" at commit); FOR NO KEY
  UPDATE does not conflict with FOR KEY SHARE.
- **A lock never reaches through a join**: ``select_related`` with ``select_for_update``
  locks every joined row, FOR UPDATE, unless ``of=("self",)`` says otherwise.

Sweeps (the reaper, timers, climbing escalations) may ``skip_locked``: a row held by
another transaction is being worked. A task that is the only consumer of its row (an
agent run's claim) waits instead, with a bounded ``lock_timeout``, and its task retries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from . import events
from .domain.audit import Actor, event_hash
from .models import AuditChainHead, AuditEvent
from .policies import ASSIGNMENT_PERMISSION


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model,
    brand_id: int | None = None,
    campaign_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the transaction of the change it
    records, so the change and its audit row commit (or roll back) together."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    # TRICKY: the head row lock serialises appenders; without it two writers could both
    # link to the same previous event and fork the chain. It is held to commit, so it
    # comes last: lock every row this transaction still needs before the first event
    # (the module's "Lock order").
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_at=timezone.now(),
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        actor_agent=actor.agent,
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        brand_id=brand_id,
        campaign_id=campaign_id,
        data=data or {},
        prev_hash=head.hash,
    )
    # Hash what the database will give back (JSON round trip), not the Python objects.
    event.data = _json_roundtrip(event.data)
    event.hash = event_hash(head.hash, event.hashed_content())
    event.save(force_insert=True)
    head.seq, head.hash = event.seq, event.hash
    head.save(update_fields=["seq", "hash"])
    return event


def _json_roundtrip(value: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(value, default=str))


def brand_assign(*, brand: Any, assignee: Any, actor: Actor) -> None:
    """Assign a person or group to a brand (they then see it and work on it), audited."""
    brand_permissions_change(
        brand=brand, assignee=assignee, add={ASSIGNMENT_PERMISSION.split(".")[1]}, actor=actor
    )


def brand_permissions_change(
    *,
    brand: Any,
    assignee: Any,
    actor: Actor,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> None:
    """Grant and revoke object permissions (codenames) on a brand for a user or group —
    the admin's "Object permissions" page comes here — and audit what changed."""
    from guardian.shortcuts import assign_perm, remove_perm

    added, removed = sorted(set(add)), sorted(set(remove))
    if not added and not removed:
        return
    with transaction.atomic():
        for codename in added:
            assign_perm(codename, assignee, brand)
        for codename in removed:
            remove_perm(codename, assignee, brand)
        audit_record(
            actor=actor,
            action="brand.permissions_changed",
            target=brand,
            brand_id=brand.pk,
            data={
                "assignee": str(assignee),
                "assignee_type": type(assignee).__name__.lower(),
                "added": added,
                "removed": removed,
            },
        )
        # Open sockets of the people concerned re-check what they may see at once.
        people = (
            assignee.user_set.values_list("pk", flat=True)
            if hasattr(assignee, "user_set")
            else [assignee.pk]
        )
        events.announce_on_commit(events.access_changed, user_ids=list(people))


# --- Audit checkpoints: the chain head kept outside the database -----------------------


def audit_checkpoint_key() -> bytes:
    """The key checkpoints are signed with: ``CONTROLTOWER_AUDIT_CHECKPOINT_KEY``, else
    one derived from ``SECRET_KEY`` (so rotating that key needs the old one to check old
    checkpoints: ``SECRET_KEY_FALLBACKS`` are tried by ``audit_verify``)."""
    import hashlib

    from django.conf import settings

    explicit = getattr(settings, "CONTROLTOWER_AUDIT_CHECKPOINT_KEY", "")
    if explicit:
        return explicit.encode()
    return hashlib.sha256(f"audit-checkpoint:{settings.SECRET_KEY}".encode()).digest()


def audit_checkpoint_write(*, now: datetime | None = None) -> dict[str, Any]:
    """Anchor the chain head outside the database (beat, hourly): a signed checkpoint
    written to ``CONTROLTOWER_AUDIT_CHECKPOINT_DIR`` and, if set, mailed to
    ``CONTROLTOWER_AUDIT_CHECKPOINT_EMAIL``. Whoever can rewrite the database cannot
    reach these copies, so ``audit_verify --checkpoint`` exposes a trail emptied or
    shortened with its head rewound. Nothing in the database changes."""
    import json as _json
    from pathlib import Path

    from django.conf import settings
    from django.core.mail import send_mail

    from .domain.audit import checkpoint_sign

    now = now or timezone.now()
    head = AuditChainHead.objects.filter(id=1).values_list("seq", "hash").first() or (0, "")
    checkpoint = checkpoint_sign(
        seq=head[0], head_hash=head[1], at=now.isoformat(), key=audit_checkpoint_key()
    )
    text = _json.dumps(checkpoint, sort_keys=True)
    folder = Path(settings.CONTROLTOWER_AUDIT_CHECKPOINT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"audit-checkpoint-{now:%Y%m%dT%H%M%S}-{head[0]}.json"
    (folder / name).write_text(text + "\n")
    to = getattr(settings, "CONTROLTOWER_AUDIT_CHECKPOINT_EMAIL", "")
    if to:
        send_mail(
            subject=f"Audit checkpoint: #{head[0]} at {now:%Y-%m-%d %H:%M} UTC",
            message="Keep this message: `manage.py audit_verify --checkpoint FILE` checks the "
            "audit trail against it.\n\n" + text,
            from_email=None,
            recipient_list=[to],
        )
    return checkpoint
