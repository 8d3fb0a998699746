"""Reads of contacts: what agents may see of them, a summary for research, and the
contact list page.

Agents get facts, not people: the email's domain (never the address), and no text that
reads as instructions — a flagged row's notes, and any other field that carries a
finding, are replaced by a marker before they can reach a prompt."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from governance.domain.untrusted import injection_findings

from .models import Contact, ContactImport, ImportStatus, Subscription

WITHHELD = "[withheld: flagged as instructions]"


@dataclass(frozen=True)
class ContactFacts:
    id: int
    email_domain: str
    job_title: str
    company: str
    country: str
    source: str
    subscribed: bool
    suppressed: bool
    notes: str
    flagged: bool
    lead_score: int | None
    segment: str

    @property
    def mailable(self) -> bool:
        return self.subscribed and not self.suppressed


def contacts_for_agents(brand_id: int, *, limit: int = 500) -> list[ContactFacts]:
    """Up to ``limit`` contacts of one brand as agents may read them (best scored first,
    then oldest)."""
    contacts = (
        Contact.objects.filter(brand_id=brand_id)
        .order_by(F("lead_score").desc(nulls_last=True), "id")
        .only(
            "id",
            "email",
            "job_title",
            "company",
            "country",
            "source",
            "subscription",
            "suppressed",
            "notes",
            "injection_flags",
            "lead_score",
            "segment",
        )
    )
    return [_facts(c) for c in contacts[: max(limit, 0)]]


def _facts(contact: Contact) -> ContactFacts:
    flagged = contact.flagged

    def shown(value: str) -> str:
        # TRICKY: findings are recomputed per field: a flag records *that* a row was
        # suspicious, but the company or title that carried it must be withheld too.
        return WITHHELD if flagged and injection_findings(value) else value

    return ContactFacts(
        id=contact.pk,
        email_domain=contact.email_domain,
        job_title=shown(contact.job_title),
        company=shown(contact.company),
        country=shown(contact.country),
        source=shown(contact.source),
        subscribed=contact.subscription == Subscription.SUBSCRIBED,
        suppressed=contact.suppressed,
        notes=WITHHELD if flagged else contact.notes,
        flagged=flagged,
        lead_score=contact.lead_score,
        segment=contact.segment,
    )


@dataclass(frozen=True)
class ContactSummary:
    """What the research agent reads about a brand's first-party data, in counts."""

    total: int
    mailable: int
    unsubscribed: int
    suppressed: int
    flagged: int
    by_country: list[tuple[str, int]]
    by_job_title: list[tuple[str, int]]
    by_source: list[tuple[str, int]]
    by_segment: list[tuple[str, int]]


def contacts_summary(brand_id: int, *, top: int = 10) -> ContactSummary:
    """Counts for one brand's contacts: totals, and the ``top`` most common countries,
    job titles, sources and segments (blank values left out). Flagged contacts count in
    totals but never lend their text to the breakdowns."""
    contacts = Contact.objects.filter(brand_id=brand_id)
    totals = contacts.aggregate(
        total=Count("id"),
        mailable=Count("id", filter=Q(subscription=Subscription.SUBSCRIBED, suppressed=False)),
        unsubscribed=Count("id", filter=Q(subscription=Subscription.UNSUBSCRIBED)),
        suppressed=Count("id", filter=Q(suppressed=True)),
        flagged=Count("id", filter=~Q(injection_flags=[])),
    )
    clean = contacts.filter(injection_flags=[])
    return ContactSummary(
        **totals,
        by_country=_top(clean, "country", top),
        by_job_title=_top(clean, "job_title", top),
        by_source=_top(clean, "source", top),
        by_segment=_top(contacts, "segment", top),  # written by our agent, not uploaded
    )


def _top(contacts: QuerySet[Contact], field: str, top: int) -> list[tuple[str, int]]:
    rows = (
        contacts.exclude(**{field: ""})
        .values(field)
        .annotate(n=Count("id"))
        .order_by("-n", field)[:top]
    )
    return [(row[field], row["n"]) for row in rows]


def mailable_contacts(brand_id: int) -> QuerySet[Contact]:
    """The only contacts anything may send to (subscribed, not suppressed)."""
    return Contact.objects.filter(brand_id=brand_id).mailable()


# --- The contact list page ---------------------------------------------------------

STATUS_FILTERS = {
    "mailable": "Mailable",
    "unsubscribed": "Unsubscribed",
    "suppressed": "Suppressed",
}


def contacts_for_page(
    brand_id: int, *, flagged: bool = False, status: str = "", segment: str = ""
) -> QuerySet[Contact]:
    """One brand's contacts, filtered as the list page asks (unknown values ignored)."""
    contacts = Contact.objects.filter(brand_id=brand_id)
    if flagged:
        contacts = contacts.flagged()
    if status == "mailable":
        contacts = contacts.mailable()
    elif status == "unsubscribed":
        contacts = contacts.filter(subscription=Subscription.UNSUBSCRIBED)
    elif status == "suppressed":
        contacts = contacts.filter(suppressed=True)
    if segment:
        contacts = contacts.filter(segment=segment)
    return contacts.order_by("email")


def contact_segments(brand_id: int) -> list[str]:
    return list(
        Contact.objects.filter(brand_id=brand_id)
        .exclude(segment="")
        .values_list("segment", flat=True)
        .distinct()
        .order_by("segment")
    )


def recent_imports(brand_id: int, *, limit: int = 5) -> QuerySet[ContactImport]:
    return (
        ContactImport.objects.filter(brand_id=brand_id, status=ImportStatus.IMPORTED)
        .select_related("uploaded_by")
        .order_by("-imported_at", "-id")[:limit]
    )


def pending_imports(brand_id: int, user: Any) -> QuerySet[ContactImport]:
    """Uploads of ``user`` for the brand still waiting for their confirmation; nobody
    else's exist for them."""
    return ContactImport.objects.filter(
        brand_id=brand_id, uploaded_by=user, status=ImportStatus.PENDING
    )


def brand_contact_counts(brand_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Per brand: contacts, flagged ones, and the latest import time (the index page)."""
    rows = (
        Contact.objects.filter(brand_id__in=list(brand_ids))
        .values("brand_id")
        .annotate(total=Count("id"), flagged=Count("id", filter=~Q(injection_flags=[])))
    )
    return {row["brand_id"]: row for row in rows}


def existing_emails_count(brand_id: int, emails: list[str]) -> int:
    """How many of ``emails`` are already contacts of the brand (the import preview)."""
    found = 0
    for start in range(0, len(emails), 5_000):
        found += Contact.objects.filter(
            brand_id=brand_id, email__in=emails[start : start + 5_000]
        ).count()
    return found
