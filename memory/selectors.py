"""Reads of brand memory and the claims registry: what agents read before they write, and
what the pages show."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from campaigns.domain.briefs import normalise_claim
from governance import policies

from .domain.claims import ClaimStatus, ExpiryState, expiry_state
from .domain.compliance import BrandRules
from .domain.entries import KINDS, evidence_summary, parse_entry_ref
from .domain.written_rules import read_written_rules
from .models import Claim, EntryStatus, MemoryEntry, MemoryVersion

APPROVED_CLAIM_KIND = "approved_claim"
#: Kinds whose sentences may carry rules (placement rules, phrases the voice avoids).
WRITTEN_RULE_KINDS = ("voice_rule", "failure_mode")


@dataclass(frozen=True)
class MemoryFact:
    """One fact as agents read it. Agents cite ``ref`` (``M12``, ``C3``) for what they use."""

    ref: str
    kind: str
    text: str
    evidence: str = ""
    disclaimers: tuple[str, ...] = ()


def _approved_claims(brand_id: int, today: date) -> QuerySet[Claim]:
    # On its expiry date a claim counts as unapproved (``claim_is_approved_on``).
    return Claim.objects.filter(
        brand_id=brand_id, status=ClaimStatus.APPROVED, expires_on__gt=today
    ).order_by("pk")


def _active_entries(brand_id: int) -> QuerySet[MemoryEntry]:
    return MemoryEntry.objects.filter(brand_id=brand_id, status=EntryStatus.ACTIVE)


def approved_claim_wordings(brand_id: int, *, today: date | None = None) -> frozenset[str]:
    """Every wording (canonical and variants) of the brand's claims approved and not
    expired on ``today``: drafts using them need no new legal review."""
    today = today or timezone.localdate()
    wordings: set[str] = set()
    for wording, variants in _approved_claims(brand_id, today).values_list("wording", "variants"):
        wordings.add(wording)
        wordings.update(variants)
    return frozenset(wordings)


def brand_rules(
    brand_id: int,
    *,
    today: date | None = None,
    extra_prohibited_claims: Iterable[str] = (),
) -> BrandRules:
    """The brand's rules for checking a draft: prohibited phrases and claims from active
    memory (plus ``extra_prohibited_claims``, e.g. the brief's), the approved claims with
    the disclaimers each wording needs, and what its voice rules and failure modes ban in
    words ("keep “% off” out of subject lines": a placement rule; "never 'cheapest'": a
    phrase the voice avoids), read by ``memory.domain.written_rules``."""
    today = today or timezone.localdate()
    phrases: list[str] = []
    prohibited: list[str] = []
    written_texts: list[str] = []
    kinds = ["prohibited_phrase", "prohibited_claim", *WRITTEN_RULE_KINDS]
    rows = _active_entries(brand_id).filter(kind__in=kinds).order_by("pk")
    for kind, text in rows.values_list("kind", "text"):
        if kind in WRITTEN_RULE_KINDS:
            written_texts.append(text)
        else:
            (phrases if kind == "prohibited_phrase" else prohibited).append(text)
    written = read_written_rules(written_texts)
    approved: list[str] = []
    disclaimers: dict[str, tuple[str, ...]] = {}
    for claim in _approved_claims(brand_id, today).only("wording", "variants", "disclaimers"):
        for wording in claim.wordings:
            approved.append(wording)
            if claim.disclaimers:
                disclaimers[wording] = tuple(claim.disclaimers)
    return BrandRules(
        prohibited_phrases=tuple(_unique(phrases)),
        prohibited_claims=tuple(_unique([*prohibited, *extra_prohibited_claims])),
        approved_claims=tuple(_unique(approved)),
        required_disclaimers=disclaimers,
        avoided_words=written.avoided,
        headline_prohibited_phrases=written.headline,
        subject_line_prohibited_phrases=written.subject_line,
    )


def memory_for_agents(brand_id: int, *, today: date | None = None) -> list[MemoryFact]:
    """The brand's live memory for an agent's prompt: active entries in the order of
    ``KINDS`` (then oldest first; angles that work by their proven lift, biggest first,
    so what the brand learned last and best is what agents lead with), then the claims
    approved today."""
    today = today or timezone.localdate()
    order = list(KINDS)
    entries = sorted(
        _active_entries(brand_id).only("pk", "kind", "text", "evidence"),
        key=lambda e: (order.index(e.kind), -_lift(e), e.pk),
    )
    facts = [MemoryFact(e.ref, e.kind, e.text, evidence_summary(e.evidence)) for e in entries]
    for claim in _approved_claims(brand_id, today):
        facts.append(
            MemoryFact(
                claim.ref,
                APPROVED_CLAIM_KIND,
                claim.wording,
                _claim_summary(claim),
                tuple(claim.disclaimers),
            )
        )
    return facts


def _lift(entry: MemoryEntry) -> float:
    if entry.kind != "working_angle" or not isinstance(entry.evidence, dict):
        return 0.0
    lift = entry.evidence.get("lift_pct")
    return float(lift) if isinstance(lift, int | float) and not isinstance(lift, bool) else 0.0


def _claim_summary(claim: Claim) -> str:
    parts = []
    if claim.variants:
        parts.append("also worded: " + "; ".join(f"“{v}”" for v in claim.variants))
    parts.append(f"in {', '.join(claim.jurisdictions)}")
    parts.append(f"expires on {claim.expires_on.isoformat()}")
    return ", ".join(parts)


def _unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for item in items:
        if normalise_claim(item) not in seen:
            seen.add(normalise_claim(item))
            unique.append(item)
    return unique


# --- Pages ----------------------------------------------------------------------------------


def memory_brands_for_user(user: Any, *, today: date | None = None) -> QuerySet:
    """The brands whose memory ``user`` may read, with the counts the index shows."""
    today = today or timezone.localdate()
    return (
        policies.visible_brands(user)
        .annotate(
            active_entries=Count(
                "memory_entries",
                filter=Q(memory_entries__status=EntryStatus.ACTIVE),
                distinct=True,
            ),
            approved_claims=Count(
                "claims",
                filter=Q(claims__status=ClaimStatus.APPROVED, claims__expires_on__gt=today),
                distinct=True,
            ),
            pending_claims=Count(
                "claims", filter=Q(claims__status=ClaimStatus.PENDING), distinct=True
            ),
        )
        .order_by("name")
    )


@dataclass(frozen=True)
class KindGroup:
    kind: str
    label: str
    entries: list[MemoryEntry]


def memory_by_kind(brand: Any, *, show_retired: bool = False) -> list[KindGroup]:
    """The brand's entries grouped by kind (every kind, empty ones too, so the page shows
    what is missing), each with its current version (who changed it last) attached as
    ``entry.current``."""
    entries = MemoryEntry.objects.filter(brand=brand)
    if not show_retired:
        entries = entries.filter(status=EntryStatus.ACTIVE)
    entries = list(entries.order_by("pk"))
    current = {
        v.entry_id: v
        for v in MemoryVersion.objects.filter(
            entry__in=[e.pk for e in entries], number=F("entry__version")
        ).select_related("changed_by_user")
    }
    groups = {kind: KindGroup(kind, label, []) for kind, label in KINDS.items()}
    for entry in entries:
        entry.current = current.get(entry.pk)
        entry.evidence_text = evidence_summary(entry.evidence)
        groups[entry.kind].entries.append(entry)
    return list(groups.values())


def entry_history(entry: MemoryEntry) -> QuerySet[MemoryVersion]:
    """Every version of an entry, newest first."""
    return entry.versions.select_related("changed_by_user").order_by("-number")


@dataclass(frozen=True)
class ClaimRow:
    claim: Claim
    expiry: ExpiryState
    days_left: int

    @property
    def usable(self) -> bool:
        return self.claim.status == ClaimStatus.APPROVED and self.expiry != ExpiryState.EXPIRED


def claims_for_brand(brand: Any, *, today: date | None = None) -> list[ClaimRow]:
    """The brand's registry: pending first (they need legal), then approved, then the rest;
    expiry read against ``today``."""
    order = {
        ClaimStatus.PENDING: 0,
        ClaimStatus.APPROVED: 1,
        ClaimStatus.REJECTED: 2,
        ClaimStatus.RETIRED: 3,
    }
    claims = Claim.objects.filter(brand=brand).select_related(
        "brand", "legal_owner", "proposed_by", "reviewed_by", "retired_by", "renews"
    )
    rows = [claim_row(claim, today=today) for claim in claims]
    return sorted(rows, key=lambda r: (order[ClaimStatus(r.claim.status)], r.claim.expires_on))


def claim_row(claim: Claim, *, today: date | None = None) -> ClaimRow:
    today = today or timezone.localdate()
    days = settings.CONTROLTOWER_CLAIM_EXPIRY_NOTICE_DAYS
    state = expiry_state(
        status=claim.status, expires_on=claim.expires_on, today=today, notice_days=days
    )
    return ClaimRow(claim, state, (claim.expires_on - today).days)


def active_memory_entries(brand_id: int) -> QuerySet[MemoryEntry]:
    """The brand's live memory, by kind then age (the API's ``GET …/memory``)."""
    return _active_entries(brand_id).order_by("kind", "pk")


def brand_memory_entries(brand: Any) -> QuerySet[MemoryEntry]:
    """Every entry of the brand, live or retired (the caller has checked it may see it)."""
    return MemoryEntry.objects.filter(brand=brand)


def brand_claims(brand: Any) -> QuerySet[Claim]:
    """Every claim of the brand, in any state (the caller has checked it may see it)."""
    return Claim.objects.filter(brand=brand)


def brand_claims_to_decide(brand: Any) -> QuerySet[Claim]:
    """The brand's claims with their brand joined: a review or withdrawal answers with the
    claim's row and its brand's registry."""
    return brand_claims(brand).select_related("brand")


@dataclass(frozen=True)
class Reference:
    """What a citation like ``M12`` or ``C3`` names, for a link with its title."""

    ref: str
    title: str
    url: str


def references(brand_id: int, refs: Iterable[str]) -> dict[str, Reference]:
    """The brand's memory entries and claims that ``refs`` name (others are left out: a
    reference to another brand's memory or to nothing is shown as plain text). Two
    queries whatever the number of references."""
    from django.urls import reverse

    entry_ids, claim_ids = set(), set()
    for ref in refs:
        if (pk := parse_entry_ref(ref)) is not None:
            entry_ids.add(pk)
        elif isinstance(ref, str) and ref[:1] == "C" and ref[1:].isdigit():
            claim_ids.add(int(ref[1:]))
    found: dict[str, Reference] = {}
    if entry_ids:
        for entry in MemoryEntry.objects.filter(brand_id=brand_id, pk__in=entry_ids).select_related(
            "brand"
        ):
            found[entry.ref] = Reference(
                entry.ref,
                entry.text[:120],
                reverse("memory:entry", args=[entry.brand.slug, entry.pk]),
            )
    if claim_ids:
        for claim in Claim.objects.filter(brand_id=brand_id, pk__in=claim_ids).select_related(
            "brand"
        ):
            found[claim.ref] = Reference(
                claim.ref,
                claim.wording[:120],
                reverse("memory:claims", args=[claim.brand.slug]) + f"#claim-{claim.pk}",
            )
    return found
