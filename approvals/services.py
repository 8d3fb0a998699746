"""Writes for the approvals app. For now: recording audit events."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .domain.audit import Actor, event_hash
from .models import AuditChainHead, AuditEvent


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
    # link to the same previous event and fork the chain.
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
    from .policies import ASSIGNMENT_PERMISSION

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


def approval_request_submit(
    *,
    campaign: Any,
    action_type: str,
    queue_role: str,
    summary: str,
    agent: str,
) -> Any:
    """Hold an agent's action for a person in ``queue_role`` to decide."""
    from controltower.realtime import campaign_changed_on_commit

    from .models import ApprovalRequest

    with transaction.atomic():
        request = ApprovalRequest.objects.create(
            campaign=campaign,
            brand_id=campaign.brand_id,
            action_type=action_type,
            queue_role=queue_role,
            summary=summary,
            requested_by_agent=agent,
        )
        audit_record(
            actor=Actor.for_agent(agent),
            action="approval.requested",
            target=request,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={"action_type": action_type, "queue_role": queue_role, "summary": summary},
        )
        campaign_changed_on_commit(campaign.pk)
    return request
