"""Changing the delegation policy under the two-person rule: one admin proposes a new
version, a second admin approves it (it supersedes the version in force at once) or
rejects it.

Every write here follows the lock order in ``governance.services``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted, ReasonRequired
from governance.services import audit_record

from ..domain.policy import PolicyInvalid, policy_from_json
from ..domain.status import AlreadyDecided
from ..models import DelegationPolicy, PolicyStatus


class PolicyChangeInvalid(DomainError):
    pass


def policy_propose(
    *,
    admin: Any,
    brand_id: int,
    rules: dict[str, Any],
    note: str,
    campaign_id: int | None = None,
) -> DelegationPolicy:
    """Propose a new version of a brand's (or one campaign's) policy. It changes nothing
    until a second admin approves it (``policy_decide``)."""
    from governance import policies

    if not policies.is_admin(admin):
        raise NotPermitted("Only admins change the delegation policy.")
    if not note.strip():
        raise ReasonRequired("Say why the policy should change: a note is required.")
    try:
        policy_from_json(0, rules)
    except PolicyInvalid as exc:
        raise PolicyChangeInvalid(str(exc)) from exc
    with transaction.atomic():
        # The brand's versions are numbered in one sequence: lock its newest to number.
        latest = (
            DelegationPolicy.objects.select_for_update(no_key=True)
            .filter(brand_id=brand_id)
            .order_by("-version")
            .first()
        )
        current = active_row(brand_id, campaign_id)
        proposal = DelegationPolicy.objects.create(
            brand_id=brand_id,
            campaign_id=campaign_id,
            version=(latest.version if latest else 0) + 1,
            rules=rules,
            status=PolicyStatus.PROPOSED,
            created_by=admin,
            note=note.strip(),
            based_on_version=current.version if current else 0,
        )
        audit_record(
            actor=Actor.for_user(admin),
            action="policy.proposed",
            target=proposal,
            brand_id=brand_id,
            campaign_id=campaign_id,
            data={"version": proposal.version, "based_on": proposal.based_on_version, "note": note},
        )
    return proposal


def policy_decide(*, policy_id: int, admin: Any, approve: bool, note: str = "") -> DelegationPolicy:
    """A second admin approves (it takes effect at once, superseding the version in
    force) or rejects a proposed policy. The proposer can do neither."""
    from governance import policies

    with transaction.atomic():
        proposal = DelegationPolicy.objects.select_for_update(no_key=True).get(pk=policy_id)
        if proposal.status != PolicyStatus.PROPOSED:
            raise AlreadyDecided(
                f"Version {proposal.version} is already {proposal.get_status_display().lower()}."
            )
        if not policies.is_admin(admin):
            raise NotPermitted("Only admins decide policy changes.")
        if proposal.created_by_id == admin.pk:
            raise NotPermitted("A second admin must approve a policy change you proposed.")
        if not approve and not note.strip():
            raise ReasonRequired("Say why you reject it: a reason is required.")
        now = timezone.now()
        if approve:
            current = active_row(proposal.brand_id, proposal.campaign_id, lock=True)
            if current is not None:
                current.status = PolicyStatus.SUPERSEDED
                current.save(update_fields=["status"])
            proposal.status = PolicyStatus.ACTIVE
        else:
            proposal.status = PolicyStatus.REJECTED
        proposal.decided_by, proposal.decided_at = admin, now
        proposal.decision_note = note.strip()
        proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit_record(
            actor=Actor.for_user(admin),
            action="policy.activated" if approve else "policy.rejected",
            target=proposal,
            brand_id=proposal.brand_id,
            campaign_id=proposal.campaign_id,
            data={"version": proposal.version, "note": note.strip()},
        )
    return proposal


def active_row(
    brand_id: int, campaign_id: int | None, *, lock: bool = False
) -> DelegationPolicy | None:
    """The version in force for exactly this scope (a brand, or one campaign of it)."""
    rows = DelegationPolicy.objects.filter(
        brand_id=brand_id, campaign_id=campaign_id, status=PolicyStatus.ACTIVE
    )
    if lock:
        rows = rows.select_for_update(no_key=True)
    return rows.first()
