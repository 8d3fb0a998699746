"""Every write to brand memory and the claims registry. Adapters (pages, the gate's
executor, the daily expiry task, the demo) call these; each validates through
``memory.domain``, locks what it changes and writes its audit event in the same
transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Brand
from governance import events, policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from .domain.claims import (
    LIVE_STATUSES,
    ClaimSpec,
    ClaimStatus,
    clean_jurisdictions,
    clean_lines,
    expiry_notice_due,
    validate_claim,
    validate_review_note,
    wordings_clash,
)
from .domain.entries import (
    EntrySpec,
    MemoryChange,
    clean_evidence,
    clean_text,
    same_fact,
    validate_change_note,
    validate_entry,
)
from .models import Claim, EntryStatus, MemoryEntry, MemoryVersion


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
        brand = _lock_brand(brand_id)
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
        brand = _lock_brand(brand_id)
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
        brand = _lock_brand(brand_id)
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


def _lock_brand(brand_id: int) -> Brand:
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


# --- The claims registry --------------------------------------------------------------------


def claim_propose(
    *,
    brand_id: int,
    spec: ClaimSpec,
    legal_owner: Any,
    proposer: Any,
    renews_id: int | None = None,
    today: date | None = None,
) -> Claim:
    """Put a claim in the registry, pending legal review. Managers and admins of the brand
    propose; the legal owner is an active legal reviewer of the brand with an email
    address (they are told before the claim expires).

    ``renews_id`` names an approved claim this one renews (same wording, a later expiry):
    it stays approved until legal approves the renewal, so there is no gap."""
    today = today or timezone.localdate()
    spec = ClaimSpec(
        wording=" ".join(spec.wording.split()),
        substantiation=spec.substantiation.strip(),
        expires_on=spec.expires_on,
        jurisdictions=clean_jurisdictions(spec.jurisdictions),
        variants=clean_lines(spec.variants),
        disclaimers=clean_lines(spec.disclaimers),
        evidence_url=spec.evidence_url.strip(),
    )
    with transaction.atomic():
        brand = _lock_brand(brand_id)
        if not policies.can_propose_claims(proposer, brand):
            raise NotPermitted("Only the brand's marketing managers and admins propose claims.")
        errors = validate_claim(spec, today=today)
        if legal_owner is None or not policies.can_own_claims(legal_owner, brand):
            errors.setdefault("legal_owner", []).append(
                "Choose a legal reviewer assigned to this brand as the claim's owner."
            )
        elif not legal_owner.email:
            errors.setdefault("legal_owner", []).append(
                f"{legal_owner.get_username()} has no email address, so could not be told "
                "before the claim expires."
            )
        renewed = _renewed_claim(brand, renews_id, spec) if renews_id is not None else None
        if not errors:
            errors = _clashes(brand, spec, renewed=renewed)
        if errors:
            raise ClaimInvalid(errors)
        try:
            with transaction.atomic():
                claim = Claim.objects.create(
                    brand=brand,
                    wording=spec.wording,
                    variants=list(spec.variants),
                    substantiation=spec.substantiation,
                    evidence_url=spec.evidence_url,
                    disclaimers=list(spec.disclaimers),
                    jurisdictions=list(spec.jurisdictions),
                    expires_on=spec.expires_on,
                    legal_owner=legal_owner,
                    proposed_by=proposer,
                    proposed_at=timezone.now(),
                    renews=renewed,
                )
        except IntegrityError as exc:  # the database's last line of defence
            raise ClaimInvalid({"wording": ["This claim is already in the registry."]}) from exc
        audit_record(
            actor=Actor.for_user(proposer),
            action="claim.proposed",
            target=claim,
            brand_id=brand.pk,
            data={
                "ref": claim.ref,
                "wording": claim.wording,
                "variants": claim.variants,
                "disclaimers": claim.disclaimers,
                "jurisdictions": claim.jurisdictions,
                "expires_on": claim.expires_on.isoformat(),
                "legal_owner": legal_owner.get_username(),
                **({"renews": renewed.ref} if renewed else {}),
            },
        )
    return claim


def _renewed_claim(brand: Brand, renews_id: int, spec: ClaimSpec) -> Claim:
    renewed = Claim.objects.select_for_update(no_key=True).filter(pk=renews_id, brand=brand).first()
    if renewed is None or renewed.status != ClaimStatus.APPROVED:
        raise ClaimInvalid({"wording": ["Only an approved claim of this brand can be renewed."]})
    if wordings_clash([spec.wording], [renewed.wording]) != [spec.wording]:
        raise ClaimInvalid(
            {
                "wording": [
                    f"A renewal keeps {renewed.ref}'s wording; propose new wording as a new claim."
                ]
            }
        )
    if spec.expires_on is not None and spec.expires_on <= renewed.expires_on:
        raise ClaimInvalid(
            {
                "expires_on": [
                    f"A renewal must expire after {renewed.ref} does "
                    f"({renewed.expires_on.isoformat()})."
                ]
            }
        )
    return renewed


def _clashes(brand: Brand, spec: ClaimSpec, *, renewed: Claim | None) -> dict[str, list[str]]:
    """A new claim may not repeat a live claim's wording (other than the one it renews), nor
    a prohibited claim in memory."""
    errors: dict[str, list[str]] = {}
    live = Claim.objects.filter(brand=brand, status__in=list(LIVE_STATUSES))
    if renewed is not None:
        live = live.exclude(pk=renewed.pk)
    for claim in live.only("pk", "wording", "variants"):
        for name, wordings in (("wording", [spec.wording]), ("variants", spec.variants)):
            for clash in wordings_clash(wordings, claim.wordings):
                errors.setdefault(name, []).append(
                    f"“{clash}” is already worded in claim {claim.ref}."
                )
    prohibited = MemoryEntry.objects.filter(
        brand=brand, kind="prohibited_claim", status=EntryStatus.ACTIVE
    )
    for entry in prohibited.only("pk", "text"):
        for name, wordings in (("wording", [spec.wording]), ("variants", spec.variants)):
            for clash in wordings_clash(wordings, [entry.text]):
                errors.setdefault(name, []).append(
                    f"“{clash}” is a prohibited claim in the brand's memory ({entry.ref}); "
                    "retire that entry first if it is no longer prohibited."
                )
    return errors


def claim_review(
    *,
    claim_id: int,
    reviewer: Any,
    approve: bool,
    note: str = "",
    today: date | None = None,
) -> Claim:
    """Approve or reject a pending claim, once. Only a legal reviewer assigned to the brand,
    never the person who proposed it; a rejection says why."""
    today = today or timezone.localdate()
    with transaction.atomic():
        claim = (
            Claim.objects.select_for_update(no_key=True, of=("self",))
            .select_related("brand")
            .get(pk=claim_id)
        )
        refusal = policies.claim_review_refusal(reviewer, claim)
        if refusal:
            raise NotPermitted(refusal)
        if claim.status != ClaimStatus.PENDING:
            raise DomainError(f"{claim.ref} is already {claim.status_label.lower()}.")
        problems = validate_review_note(note, approve=approve)
        if problems:
            raise ClaimInvalid({"note": problems})
        if approve and claim.expires_on <= today:
            raise ClaimInvalid(
                {
                    "expires_on": [
                        f"{claim.ref} expired on {claim.expires_on.isoformat()}; it cannot be "
                        "approved. Propose it again with a new expiry date."
                    ]
                }
            )
        if approve and claim.renews_id is not None:
            # Retired first: one approved claim per wording, and never a moment with none.
            _retire_renewed(claim, reviewer)
        claim.status = ClaimStatus.APPROVED if approve else ClaimStatus.REJECTED
        claim.reviewed_by, claim.reviewed_at = reviewer, timezone.now()
        claim.review_note = note.strip()
        claim.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        audit_record(
            actor=Actor.for_user(reviewer),
            action="claim.approved" if approve else "claim.rejected",
            target=claim,
            brand_id=claim.brand_id,
            data={"ref": claim.ref, "wording": claim.wording, "note": claim.review_note},
        )
        claim.moved_requests = []
        if approve:
            # Drafts waiting for legal only because of this claim need legal no more
            # (approvals sends them on, here in this transaction; the ids it moved).
            moved = events.announce(
                events.claims_cleared, brand_id=claim.brand_id, actor=Actor.for_user(reviewer)
            )
            claim.moved_requests = [pk for ids in moved if ids for pk in ids]
    return claim


def _retire_renewed(renewal: Claim, reviewer: Any) -> None:
    renewed = Claim.objects.select_for_update(no_key=True).get(pk=renewal.renews_id)
    if renewed.status != ClaimStatus.APPROVED:
        return  # retired meanwhile: nothing to hand over
    renewed.status = ClaimStatus.RETIRED
    renewed.retired_by, renewed.retired_at = reviewer, timezone.now()
    renewed.retirement_note = f"Renewed by {renewal.ref}."
    renewed.save(update_fields=["status", "retired_by", "retired_at", "retirement_note"])
    audit_record(
        actor=Actor.for_user(reviewer),
        action="claim.retired",
        target=renewed,
        brand_id=renewed.brand_id,
        data={
            "ref": renewed.ref,
            "wording": renewed.wording,
            "was": "approved",
            "renewed_by": renewal.ref,
        },
    )


def claim_retire(*, claim_id: int, user: Any, note: str) -> Claim:
    """Withdraw a pending or approved claim: from now on drafts using it need legal review."""
    with transaction.atomic():
        claim = (
            Claim.objects.select_for_update(no_key=True, of=("self",))
            .select_related("brand")
            .get(pk=claim_id)
        )
        if not policies.can_retire_claims(user, claim.brand):
            raise NotPermitted("You cannot retire this brand's claims.")
        if claim.status not in LIVE_STATUSES:
            raise DomainError(
                f"{claim.ref} is {claim.status_label.lower()}; only live claims retire."
            )
        problems = validate_change_note(note, required=True)
        if problems:
            raise ClaimInvalid({"note": ["Say why the claim is withdrawn: a note is required."]})
        before = claim.status
        claim.status = ClaimStatus.RETIRED
        claim.retired_by, claim.retired_at = user, timezone.now()
        claim.retirement_note = note.strip()
        claim.save(update_fields=["status", "retired_by", "retired_at", "retirement_note"])
        audit_record(
            actor=Actor.for_user(user),
            action="claim.retired",
            target=claim,
            brand_id=claim.brand_id,
            data={
                "ref": claim.ref,
                "wording": claim.wording,
                "was": before,
                "note": claim.retirement_note,
            },
        )
    return claim


EXPIRY_ACTOR = Actor.system("claim-expiry")


def claim_expiry_notices_send(*, today: date | None = None) -> list[int]:
    """Tell each approved claim's legal owner, once, that it expires within
    ``CONTROLTOWER_CLAIM_EXPIRY_NOTICE_DAYS``; returns the claims whose owners were told.

    Each notice is recorded (and audited) in its own transaction, and the email goes out
    from a task queued on commit — so a failed mail server is retried by that task, and a
    notice is never recorded twice, whoever else runs this at the same time."""
    from .tasks import email_claim_expiry_notice

    today = today or timezone.localdate()
    days = settings.CONTROLTOWER_CLAIM_EXPIRY_NOTICE_DAYS
    candidates = Claim.objects.filter(
        status=ClaimStatus.APPROVED,
        expiry_notice_sent_at__isnull=True,
        expires_on__gt=today,
        expires_on__lte=today + timedelta(days=days),
    ).values_list("pk", flat=True)
    notified = []
    for claim_id in list(candidates):
        with transaction.atomic():
            claim = (
                Claim.objects.select_for_update(no_key=True, of=("self",))
                .select_related("legal_owner")
                .get(pk=claim_id)
            )
            due = expiry_notice_due(
                status=claim.status,
                expires_on=claim.expires_on,
                notice_sent=claim.expiry_notice_sent_at is not None,
                today=today,
                notice_days=days,
            )
            if not due:
                continue  # someone else sent it, or it changed meanwhile
            claim.expiry_notice_sent_at = timezone.now()
            claim.save(update_fields=["expiry_notice_sent_at"])
            audit_record(
                actor=EXPIRY_ACTOR,
                action="claim.expiry_notice_sent",
                target=claim,
                brand_id=claim.brand_id,
                data={
                    "ref": claim.ref,
                    "expires_on": claim.expires_on.isoformat(),
                    "to": claim.legal_owner.get_username(),
                    "days_left": (claim.expires_on - today).days,
                },
            )
            transaction.on_commit(lambda pk=claim.pk: email_claim_expiry_notice.delay(pk))
            notified.append(claim.pk)
    return notified
