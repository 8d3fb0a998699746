"""Every write to contacts and their imports. Adapters (views, agents' tasks, the demo)
call these; each checks who may act, validates through ``crm.domain``, locks what it
changes and writes its audit events in the same transaction.

An import is all or nothing: a file with any error writes nothing at all."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Brand
from governance import policies
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.services import audit_record

from .domain.contacts_csv import TEXT_FIELDS, ContactRow, ParseResult, parse_contacts, row_findings
from .domain.scores import ContactScore, score_problems
from .models import Contact, ContactImport, ImportStatus, Subscription

#: How long an uploaded file waits for its uploader to confirm the preview.
PENDING_IMPORT_TTL = timedelta(hours=24)
DEFAULT_SUPPRESSION_REASON = "Suppressed in an uploaded file"
_LOCK_CHUNK = 5_000  # emails per locking query (PostgreSQL takes at most 65,535 parameters)

#: Unsubscribe links: their own salt, so no other signed value of ours is accepted as one.
UNSUBSCRIBE_SALT = "crm.unsubscribe"
#: How an unsubscribe came in: the confirm page's button, or a mail provider's RFC 8058
#: one-click POST.
UNSUBSCRIBE_VIA = ("link", "one_click")
#: Who unsubscribes by link: the person themself, anonymously (no user, no agent).
UNSUBSCRIBE_ACTOR = Actor.system("unsubscribe-link")


class ContactImportInvalid(DomainError):
    """The file has errors; nothing was written. ``problems`` lists them with row numbers
    and ``result`` is the whole parse (for the preview page)."""

    def __init__(self, result: ParseResult):
        self.result = result
        self.problems = [str(problem) for problem in result.errors]
        shown = "; ".join(self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"The file was not imported: {shown}{more}")


class UnsubscribeLinkInvalid(DomainError):
    """The link was not signed by us as an unsubscribe link (cut short, changed)."""


class UnsubscribeContactUnknown(DomainError):
    """The link is ours, but the contact it is for no longer exists (in that brand)."""


class ScoresInvalid(DomainError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(" ".join(problems))


def contacts_import(*, brand: Brand, uploaded_by: Any, filename: str, text: str) -> ContactImport:
    """Import a contacts CSV at once (the demo, and later the API). Raises
    :class:`ContactImportInvalid` (row-numbered errors) or :class:`NotPermitted`; on any
    refusal nothing is written."""
    _check_may_manage(uploaded_by, brand)
    parsed = _parsed_or_raise(text)
    with transaction.atomic():
        record = ContactImport.objects.create(
            brand=brand,
            uploaded_by=uploaded_by,
            filename=_clean_filename(filename),
            status=ImportStatus.IMPORTED,
            imported_at=timezone.now(),
        )
        return _apply(record=record, parsed=parsed, actor=Actor.for_user(uploaded_by))


def contact_import_stage(
    *, brand: Brand, uploaded_by: Any, filename: str, text: str
) -> tuple[ContactImport, ParseResult]:
    """Keep a file that parsed cleanly until its uploader confirms the preview.

    TRICKY: the text waits in a pending row rather than in a signed form field: a 5 MB
    file would not fit in a POST field (Django refuses fields over 2.5 MB) and would
    travel to the browser and back for nothing. The row belongs to its uploader (only
    they can confirm it) and a new upload replaces their earlier unconfirmed one.

    A file with errors is refused (:class:`ContactImportInvalid`) and nothing is kept.
    """
    _check_may_manage(uploaded_by, brand)
    parsed = _parsed_or_raise(text)
    with transaction.atomic():
        ContactImport.objects.filter(
            brand=brand, uploaded_by=uploaded_by, status=ImportStatus.PENDING
        ).delete()
        record = ContactImport.objects.create(
            brand=brand,
            uploaded_by=uploaded_by,
            filename=_clean_filename(filename),
            status=ImportStatus.PENDING,
            pending_text=text,
            rows_total=len(parsed.rows),
            flagged_count=len(parsed.flagged_rows),
        )
        audit_record(
            actor=Actor.for_user(uploaded_by),
            action="contacts.import_previewed",
            target=record,
            brand_id=brand.pk,
            data={
                "filename": record.filename,
                "rows": record.rows_total,
                "flagged": record.flagged_count,
            },
        )
    return record, parsed


def contact_import_confirm(*, import_id: int, user: Any) -> ContactImport:
    """Import a staged file, exactly as previewed (its stored text is parsed again, so
    what is written is what the preview showed). Only its uploader may confirm it, once,
    within :data:`PENDING_IMPORT_TTL`."""
    with transaction.atomic():
        record = (
            ContactImport.objects.select_for_update(no_key=True, of=("self",))
            .select_related("brand")
            .filter(pk=import_id)
            .first()
        )
        if record is None:
            raise DomainError(
                "This preview no longer exists (a newer upload replaced it); upload the file again."
            )
        if record.uploaded_by_id != user.pk:
            raise NotPermitted("Only the person who uploaded a file can confirm its import.")
        if record.status != ImportStatus.PENDING:
            raise DomainError("This file has already been imported.")
        if record.created_at < timezone.now() - PENDING_IMPORT_TTL:
            raise DomainError("This preview has expired; upload the file again.")
        _check_may_manage(user, record.brand)
        parsed = _parsed_or_raise(record.pending_text)
        record.status = ImportStatus.IMPORTED
        record.imported_at = timezone.now()
        record.pending_text = ""
        record.save(update_fields=["status", "imported_at", "pending_text"])
        return _apply(record=record, parsed=parsed, actor=Actor.for_user(user))


def contact_imports_purge_expired(*, now: Any = None) -> int:
    """Delete previews nobody confirmed within :data:`PENDING_IMPORT_TTL`: they can no
    longer be imported, and their stored file (uploaded, untrusted personal data) should
    not outlive its purpose. Beat runs this hourly; the preview's audit event stays."""
    cutoff = (now or timezone.now()) - PENDING_IMPORT_TTL
    deleted, _ = ContactImport.objects.filter(
        status=ImportStatus.PENDING, created_at__lt=cutoff
    ).delete()
    return deleted


def _apply(*, record: ContactImport, parsed: ParseResult, actor: Actor) -> ContactImport:
    """Upsert the parsed rows into the brand's contacts (inside the caller's transaction)."""
    brand_id = record.brand_id
    # TRICKY: imports of one brand run one at a time, so two files adding the same new
    # email cannot both insert it. NO KEY UPDATE still lets other work create rows that
    # point at the brand (campaigns, briefs) meanwhile; a plain FOR UPDATE would block it.
    Brand.objects.select_for_update(no_key=True).filter(pk=brand_id).first()
    existing: dict[str, Contact] = {}
    for chunk in _chunks([row.email for row in parsed.rows], _LOCK_CHUNK):
        for contact in Contact.objects.select_for_update(no_key=True).filter(
            brand_id=brand_id, email__in=chunk
        ):
            existing[contact.email] = contact

    now = timezone.now()
    created: list[Contact] = []
    updated: list[Contact] = []
    kept_unsubscribed = kept_suppressed = 0
    for row in parsed.rows:
        contact = existing.get(row.email)
        if contact is None:
            created.append(_new_contact(row, brand_id=brand_id, record=record))
            continue
        if row.subscribed is True and contact.subscription == Subscription.UNSUBSCRIBED:
            kept_unsubscribed += 1
        if row.suppressed is False and contact.suppressed:
            kept_suppressed += 1
        _merge(contact, row)
        contact.last_import = record
        contact.updated_at = now
        updated.append(contact)
    Contact.objects.bulk_create(created, batch_size=1_000)
    Contact.objects.bulk_update(updated, fields=_MERGED_FIELDS, batch_size=1_000)

    record.rows_total = len(parsed.rows)
    record.created_count = len(created)
    record.updated_count = len(updated)
    record.flagged_count = len(parsed.flagged_rows)
    record.save(update_fields=["rows_total", "created_count", "updated_count", "flagged_count"])
    audit_record(
        actor=actor,
        action="contacts.imported",
        target=record,
        brand_id=brand_id,
        data={
            "filename": record.filename,
            "rows": record.rows_total,
            "created": record.created_count,
            "updated": record.updated_count,
            "flagged": record.flagged_count,
            "kept_unsubscribed": kept_unsubscribed,
            "kept_suppressed": kept_suppressed,
            "warnings": [str(w) for w in parsed.warnings],
        },
    )
    by_email = {c.email: c for c in [*created, *updated]}
    for row in parsed.flagged_rows:
        audit_record(
            actor=actor,
            action="data.injection_flagged",
            target=by_email[row.email],
            brand_id=brand_id,
            data={
                "import_id": record.pk,
                "row": row.row_number,
                "email": row.email,
                "reasons": list(row.flags),
            },
        )
    return record


_MERGED_FIELDS = [
    *(f for f in TEXT_FIELDS if f != "suppression_reason"),
    "subscription",
    "suppressed",
    "suppression_reason",
    "injection_flags",
    "last_import",
    "updated_at",
]


def _new_contact(row: ContactRow, *, brand_id: int, record: ContactImport) -> Contact:
    suppressed = bool(row.suppressed)
    return Contact(
        brand_id=brand_id,
        email=row.email,
        name=row.name,
        company=row.company,
        job_title=row.job_title,
        country=row.country,
        source=row.source,
        notes=row.notes,
        subscription=(
            Subscription.UNSUBSCRIBED if row.subscribed is False else Subscription.SUBSCRIBED
        ),
        suppressed=suppressed,
        suppression_reason=(row.suppression_reason or DEFAULT_SUPPRESSION_REASON)
        if suppressed
        else "",
        injection_flags=list(row.flags),
        last_import=record,
    )


def _merge(contact: Contact, row: ContactRow) -> None:
    """Fold a re-imported row into an existing contact.

    A blank cell leaves the stored value alone: files from different sources carry
    different columns, and an empty cell means "not known here", not "erase".

    TRICKY: an unsubscribe or a suppression is never undone by an import. Unsubscribing
    is the person's own request (the law in most markets makes it binding) and a
    suppression is a deliberate block (bounce, complaint, legal hold); an older list
    saying "subscribed" must not quietly put them back on the mailing list. Only a
    fresh opt-in from the person could, and that is not what a CSV is.
    """
    for field in TEXT_FIELDS:
        if field != "suppression_reason" and getattr(row, field):
            setattr(contact, field, getattr(row, field))
    if row.subscribed is False:
        contact.subscription = Subscription.UNSUBSCRIBED
    if row.suppressed:
        if not contact.suppressed or row.suppression_reason:
            contact.suppression_reason = row.suppression_reason or DEFAULT_SUPPRESSION_REASON
        contact.suppressed = True
    # Flags describe the contact as stored now: its old text and the file's new text.
    contact.injection_flags = row_findings({f: getattr(contact, f) for f in TEXT_FIELDS})


def contact_scores_record(
    *, brand_id: int, scores: Sequence[ContactScore], actor: Actor
) -> list[Contact]:
    """Record the CRM agent's lead scores, segments and sales-handoff notes for contacts
    of one brand; audited. Raises :class:`ScoresInvalid` (a bad score, a note that reads
    as instructions) or :class:`NotPermitted` (an id that is not a contact of this brand,
    or a person who may not manage its contacts); on any refusal nothing is written."""
    problems = score_problems(scores)
    if problems:
        raise ScoresInvalid(problems)
    with transaction.atomic():
        brand = Brand.objects.get(pk=brand_id)
        if actor.user_id is not None:
            _check_may_manage(_user(actor.user_id), brand)
        wanted = [s.contact_id for s in scores]
        contacts = {
            c.pk: c
            for c in Contact.objects.select_for_update(no_key=True).filter(
                brand_id=brand_id, pk__in=wanted
            )
        }
        missing = [pk for pk in wanted if pk not in contacts]
        if missing:
            listed = ", ".join(str(pk) for pk in missing[:10])
            raise NotPermitted(
                f"Not contacts of this brand: {listed}{'…' if len(missing) > 10 else ''}. "
                "Nothing was recorded."
            )
        now = timezone.now()
        for s in scores:
            contact = contacts[s.contact_id]
            contact.lead_score = s.score
            contact.segment = s.segment.strip()
            contact.handoff_note = s.handoff_note.strip()
            contact.scored_at = now
            contact.scored_by = actor.label
            contact.updated_at = now
        changed = [contacts[pk] for pk in wanted]
        Contact.objects.bulk_update(
            changed,
            fields=[
                "lead_score",
                "segment",
                "handoff_note",
                "scored_at",
                "scored_by",
                "updated_at",
            ],
        )
        audit_record(
            actor=actor,
            action="contacts.scored",
            target=brand,
            brand_id=brand_id,
            data={
                "count": len(changed),
                "scores": [
                    {"contact_id": c.pk, "score": c.lead_score, "segment": c.segment}
                    for c in changed
                ],
            },
        )
    return changed


# --- Unsubscribe links ----------------------------------------------------------------
#
# Every campaign email carries one (agents/connectors/email.py): in its footer, and in
# the List-Unsubscribe / List-Unsubscribe-Post headers (RFC 8058) that mail providers turn
# into their own "Unsubscribe" button. The token is ``Signer(salt).sign_object({"c":
# contact id, "b": brand id})``: changing a byte breaks the signature.
#
# TRICKY: no timestamp and no expiry, on purpose: the law wants an unsubscribe link to
# keep working for as long as the email exists. The same contact always gets the same
# link. Rotating SECRET_KEY breaks every link already sent unless the old key stays in
# SECRET_KEY_FALLBACKS.


def contact_unsubscribe_token(*, contact_id: int, brand_id: int) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"c": contact_id, "b": brand_id})


def contact_unsubscribe_url(*, contact_id: int, brand_id: int) -> str:
    """The absolute address of a contact's unsubscribe link (it leaves the app by email)."""
    token = contact_unsubscribe_token(contact_id=contact_id, brand_id=brand_id)
    path = reverse("crm:unsubscribe", args=[token])
    return settings.CONTROLTOWER_BASE_URL.rstrip("/") + path


def contact_unsubscribe_link_read(token: str) -> Contact:
    """The contact an unsubscribe link is for. Raises :class:`UnsubscribeLinkInvalid`
    (not our link) or :class:`UnsubscribeContactUnknown` (no such contact any more)."""
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except signing.BadSignature:
        raise UnsubscribeLinkInvalid(
            "This unsubscribe link is not valid: it may have been cut short or changed. "
            "Open the link again from the email, or use the email's own unsubscribe button."
        ) from None
    contact_id = data.get("c") if isinstance(data, dict) else None
    brand_id = data.get("b") if isinstance(data, dict) else None
    # Signed by us, so well formed unless the format changed; checked all the same.
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (contact_id, brand_id)):
        raise UnsubscribeLinkInvalid("This unsubscribe link is not valid.")
    contact = (
        Contact.objects.select_related("brand").filter(pk=contact_id, brand_id=brand_id).first()
    )
    if contact is None:
        raise UnsubscribeContactUnknown(
            "We hold no address for this link any more, so there is nothing to unsubscribe."
        )
    return contact


def contact_unsubscribe(*, contact_id: int, via: str) -> bool:
    """The person asked to get no more marketing email from this brand: mark the contact
    unsubscribed, audited. True when this call unsubscribed them; False when they already
    were (nothing is written, no second audit event), so a repeat is harmless.

    Never undone by an import (see :func:`_merge`); every sender starts from
    ``Contact.objects.mailable()``, so the next batch of a send under way skips them."""
    if via not in UNSUBSCRIBE_VIA:
        raise ValueError(f"Unknown unsubscribe channel “{via}”.")
    with transaction.atomic():
        contact = Contact.objects.select_for_update(no_key=True).get(pk=contact_id)
        if contact.subscription == Subscription.UNSUBSCRIBED:
            return False
        contact.subscription = Subscription.UNSUBSCRIBED
        contact.updated_at = timezone.now()
        contact.save(update_fields=["subscription", "updated_at"])
        # The target names the contact; its address stays out of the audit trail, whose
        # hash chain cannot be edited later.
        audit_record(
            actor=UNSUBSCRIBE_ACTOR,
            action="contacts.unsubscribed",
            target=contact,
            brand_id=contact.brand_id,
            data={"via": via},
        )
    return True


def _check_may_manage(user: Any, brand: Brand) -> None:
    if not policies.can_manage_contacts(user, brand):
        raise NotPermitted("You cannot manage the contacts of this brand.")


def _parsed_or_raise(text: str) -> ParseResult:
    parsed = parse_contacts(text)
    if not parsed.ok:
        raise ContactImportInvalid(parsed)
    return parsed


def _clean_filename(filename: str) -> str:
    # Browsers may send a path; only the name means anything to the people reading it.
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    return (name or "contacts.csv")[:255]


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _user(user_id: int) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=user_id)
