"""Every write to the claims registry: propose (or renew), review, retire, and the daily
notices of claims about to expire. Each validates through ``memory.domain``, locks the
brand, and writes its audit event in the same transaction; a claim cleared announces
``events.claims_cleared`` (approvals reconsiders the drafts that waited on it)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Brand
from governance import events, policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from ..domain.claims import (
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
from ..domain.entries import (
    validate_change_note,
)
from ..models import Claim, EntryStatus, MemoryEntry
from .entries import ClaimInvalid, lock_brand

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
        brand = lock_brand(brand_id)
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
    from ..tasks import email_claim_expiry_notice

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
