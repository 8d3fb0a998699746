"""Every write to a brand's memory (facts, voice rules, lessons): create, revise, retire,
and the gate's executor applying an agent's change. Each validates through
``memory.domain``, locks the brand, and writes its audit event in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from campaigns.models import Brand
from governance import policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from ..domain.entries import (
    EntrySpec,
    MemoryChange,
    clean_evidence,
    clean_text,
    same_fact,
    validate_change_note,
    validate_entry,
)
from ..models import EntryStatus, MemoryEntry, MemoryVersion


class MemoryInvalid(DomainError):
    """The entry breaks one or more rules; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(" ".join(m for messages in errors.values() for m in messages))


class ClaimInvalid(MemoryInvalid):
    pass


class StaleVersion(DomainError):
    """The entry changed since the change was prepared; applying it would lose that edit."""


# --- Brand memory -------------------------------------------------------------------------


def memory_entry_create(
    *,
    brand_id: int,
    kind: str,
    text: str,
    actor: Actor,
    evidence: Mapping[str, Any] | None = None,
    note: str = "",
    authorization: str = "",
    campaign_id: int | None = None,
) -> MemoryEntry:
    """Add a fact to a brand's memory as version 1.

    People: managers and admins of the brand. Agents: only with ``authorization``, the
    delegation-policy gate's recorded decision or a person's approval (see
    ``approvals.services.action_propose``). Our own processes (``Actor.system``: the demo,
    imports) need neither. Raises :class:`MemoryInvalid` or :class:`NotPermitted`; on any
    refusal nothing is written.
    """
    spec = EntrySpec(kind, clean_text(text), clean_evidence(evidence or {}))
    _raise_if_invalid(validate_entry(spec), note_errors=validate_change_note(note, required=False))
    with transaction.atomic():
        brand = lock_brand(brand_id)
        user = _authorize(actor, brand, authorization)
        _refuse_duplicate(brand, spec)
        now = timezone.now()
        entry = MemoryEntry.objects.create(
            brand=brand,
            kind=spec.kind,
            text=spec.text,
            evidence=dict(spec.evidence),
            status=EntryStatus.ACTIVE,
            version=1,
            updated_at=now,
        )
        version = _write_version(
            entry, user=user, actor=actor, note=note.strip() or "Added", auth=authorization, now=now
        )
        _audit_entry(
            entry, version, actor=actor, action="memory.entry_created", campaign_id=campaign_id
        )
    return entry


def memory_entry_revise(
    *,
    brand_id: int,
    entry_id: int,
    text: str,
    actor: Actor,
    note: str,
    evidence: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
    authorization: str = "",
    campaign_id: int | None = None,
) -> MemoryEntry:
    """Write a new version of an active entry; the old versions stay in its history.

    ``evidence=None`` keeps the current evidence. ``expected_version`` (the version the
    editor saw) refuses the change if someone else changed the entry since
    (:class:`StaleVersion`), so nobody overwrites an edit they never saw."""
    note_errors = validate_change_note(note, required=True)
    with transaction.atomic():
        brand = lock_brand(brand_id)
        user = _authorize(actor, brand, authorization)
        entry = _lock_entry(brand, entry_id, expected_version)
        if entry.status != EntryStatus.ACTIVE:
            raise DomainError(f"{entry.ref} is retired; add a new entry instead.")
        new_evidence = entry.evidence if evidence is None else clean_evidence(evidence)
        spec = EntrySpec(entry.kind, clean_text(text), new_evidence)
        _raise_if_invalid(validate_entry(spec), note_errors=note_errors)
        if spec.text == entry.text and dict(spec.evidence) == entry.evidence:
            raise MemoryInvalid({"text": ["Nothing changed: edit the text or the evidence."]})
        _refuse_duplicate(brand, spec, exclude=entry.pk)
        now = timezone.now()
        entry.text, entry.evidence = spec.text, dict(spec.evidence)
        entry.version += 1
        entry.updated_at = now
        entry.save(update_fields=["text", "evidence", "version", "updated_at"])
        version = _write_version(
            entry, user=user, actor=actor, note=note.strip(), auth=authorization, now=now
        )
        _audit_entry(
            entry, version, actor=actor, action="memory.entry_revised", campaign_id=campaign_id
        )
    return entry


def memory_entry_retire(
    *,
    brand_id: int,
    entry_id: int,
    actor: Actor,
    note: str,
    expected_version: int | None = None,
    authorization: str = "",
    campaign_id: int | None = None,
) -> MemoryEntry:
    """Take a fact out of the brand's live memory (agents stop reading it); its history
    stays, ending with the retiring version."""
    _raise_if_invalid({}, note_errors=validate_change_note(note, required=True))
    with transaction.atomic():
        brand = lock_brand(brand_id)
        user = _authorize(actor, brand, authorization)
        entry = _lock_entry(brand, entry_id, expected_version)
        if entry.status != EntryStatus.ACTIVE:
            raise DomainError(f"{entry.ref} is already retired.")
        now = timezone.now()
        entry.status, entry.updated_at = EntryStatus.RETIRED, now
        entry.version += 1
        entry.save(update_fields=["status", "version", "updated_at"])
        version = _write_version(
            entry, user=user, actor=actor, note=note.strip(), auth=authorization, now=now
        )
        _audit_entry(
            entry, version, actor=actor, action="memory.entry_retired", campaign_id=campaign_id
        )
    return entry


def memory_change_apply(
    *,
    brand_id: int,
    change: MemoryChange,
    actor: Actor,
    authorization: str,
    campaign_id: int | None = None,
) -> MemoryEntry:
    """Carry out a change an agent proposed through the gate (``update_brand_memory``)."""
    common = {
        "brand_id": brand_id,
        "actor": actor,
        "authorization": authorization,
        "campaign_id": campaign_id,
    }
    if change.operation == "create":
        return memory_entry_create(
            kind=change.kind,
            text=change.text,
            evidence=change.evidence,
            note=change.reason,
            **common,
        )
    assert change.entry_id is not None  # parse_memory_change guarantees it
    if change.operation == "revise":
        return memory_entry_revise(
            entry_id=change.entry_id,
            text=change.text,
            evidence=change.evidence,
            note=change.reason,
            expected_version=change.based_on_version,
            **common,
        )
    return memory_entry_retire(
        entry_id=change.entry_id,
        note=change.reason,
        expected_version=change.based_on_version,
        **common,
    )


def _raise_if_invalid(errors: dict[str, list[str]], *, note_errors: list[str]) -> None:
    if note_errors:
        errors = {**errors, "note": note_errors}
    if errors:
        raise MemoryInvalid(errors)


def lock_brand(brand_id: int) -> Brand:
    # TRICKY: memory writes of one brand queue up on its row, so two writers cannot both
    # pass the duplicate check and add the same fact twice.
    # NO KEY: every audit event names its brand, and its foreign key is checked at
    # commit (approvals.services, "Lock order").
    return Brand.objects.select_for_update(no_key=True).get(pk=brand_id)


def _lock_entry(brand: Brand, entry_id: int, expected_version: int | None) -> MemoryEntry:
    entry = (
        MemoryEntry.objects.select_for_update(no_key=True).filter(pk=entry_id, brand=brand).first()
    )
    if entry is None:
        raise DomainError(f"M{entry_id} is not in {brand.name}'s memory.")
    if expected_version is not None and entry.version != expected_version:
        raise StaleVersion(
            f"{entry.ref} changed since this edit began (it is now version {entry.version}, "
            f"the edit was made to version {expected_version}). Reload it and edit again."
        )
    return entry


def _authorize(actor: Actor, brand: Brand, authorization: str) -> Any:
    """The person making the change (None for an agent or a system process), once they
    may."""
    if actor.user_id is not None:
        user = get_user_model().objects.get(pk=actor.user_id)
        if not policies.can_edit_memory(user, brand):
            raise NotPermitted("Only the brand's marketing managers and admins edit its memory.")
        return user
    if not actor.is_system and not authorization:
        raise NotPermitted(
            "An agent changes brand memory only through the delegation-policy gate, which "
            "records the decision (and may ask a person)."
        )
    return None


def _refuse_duplicate(brand: Brand, spec: EntrySpec, *, exclude: int | None = None) -> None:
    live = MemoryEntry.objects.filter(brand=brand, kind=spec.kind, status=EntryStatus.ACTIVE)
    for pk, text in live.exclude(pk=exclude).values_list("pk", "text"):
        if same_fact(text, spec.text):
            raise MemoryInvalid({"text": [f"This is already in the brand's memory as M{pk}."]})


def _write_version(
    entry: MemoryEntry, *, user: Any, actor: Actor, note: str, auth: str, now: Any
) -> MemoryVersion:
    return MemoryVersion.objects.create(
        entry=entry,
        number=entry.version,
        text=entry.text,
        evidence=entry.evidence,
        status=entry.status,
        changed_by_user=user,
        changed_by_agent="" if user is not None else actor.agent,
        change_note=note,
        authorization=auth,
        created_at=now,
    )


def _audit_entry(
    entry: MemoryEntry,
    version: MemoryVersion,
    *,
    actor: Actor,
    action: str,
    campaign_id: int | None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target=entry,
        brand_id=entry.brand_id,
        campaign_id=campaign_id,
        data={
            "ref": entry.ref,
            "kind": entry.kind,
            "version": version.number,
            "text": entry.text,
            "evidence": entry.evidence,
            "note": version.change_note,
            **({"authorization": version.authorization} if version.authorization else {}),
        },
    )
