"""The claims registry's rules, in pure Python.

A claim is a statement a brand may make in marketing once legal has approved it: its
wording and variants, the evidence behind it, the disclaimers that must go with it, where
it may be used and until when. Legal approves a claim once; drafts that reuse its wording
(or a variant) need no new review — until it expires: from its expiry date on, it counts
as unapproved again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from campaigns.domain.briefs import normalise_claim

from .entries import is_web_link

WORDING_MIN = 3
WORDING_MAX = 200
MAX_VARIANTS = 10
MAX_DISCLAIMERS = 5
DISCLAIMER_MAX = 300
SUBSTANTIATION_MIN = 10
SUBSTANTIATION_MAX = 4000
REVIEW_NOTE_MAX = 500
#: Claims are re-substantiated at least this often: nothing is approved for longer.
MAX_VALIDITY = timedelta(days=5 * 366)

#: ISO 3166-1 alpha-2 ("US", "DE"; "EU" for the union), optionally an ISO 3166-2
#: subdivision ("US-CA", "GB-SCT").
JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


class ClaimStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return {
            "pending": "Pending legal review",
            "approved": "Approved",
            "rejected": "Rejected",
            "retired": "Retired",
        }[self.value]


#: Claims still in play: a new claim may not repeat their wording.
LIVE_STATUSES = (ClaimStatus.PENDING, ClaimStatus.APPROVED)


@dataclass(frozen=True)
class ClaimSpec:
    """A proposed claim as plain values."""

    wording: str
    substantiation: str
    expires_on: date | None
    jurisdictions: Sequence[str]
    variants: Sequence[str] = ()
    disclaimers: Sequence[str] = ()
    evidence_url: str = ""


def clean_lines(items: Iterable[str]) -> list[str]:
    """Trimmed, spaces folded, blanks and repeats (ignoring case) dropped, order kept."""
    seen: set[str] = set()
    cleaned = []
    for item in items:
        text = " ".join(str(item).split())
        if text and normalise_claim(text) not in seen:
            seen.add(normalise_claim(text))
            cleaned.append(text)
    return cleaned


def clean_jurisdictions(codes: Iterable[str]) -> list[str]:
    return clean_lines(str(code).upper() for code in codes)


def validate_claim(spec: ClaimSpec, *, today: date) -> dict[str, list[str]]:
    """Every problem with ``spec``, as ``{field: [message, ...]}``; empty when it is valid.
    Expects lists cleaned by :func:`clean_lines` / :func:`clean_jurisdictions`."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    wording = spec.wording.strip()
    if len(wording) < WORDING_MIN:
        add("wording", "Write the claim's wording: at least 3 characters.")
    elif len(wording) > WORDING_MAX or "\n" in wording:
        add("wording", f"A claim is one line of at most {WORDING_MAX} characters.")

    if len(spec.variants) > MAX_VARIANTS:
        add("variants", f"At most {MAX_VARIANTS} wording variants.")
    for variant in spec.variants:
        if len(variant) < WORDING_MIN or len(variant) > WORDING_MAX:
            add("variants", f"Each variant is 3 to {WORDING_MAX} characters: “{variant[:40]}”.")
        elif normalise_claim(variant) == normalise_claim(wording):
            add("variants", f"“{variant}” is the claim's own wording, not a variant.")

    substantiation = spec.substantiation.strip()
    if len(substantiation) < SUBSTANTIATION_MIN:
        add(
            "substantiation",
            "Say what substantiates the claim (the study, test or data behind it).",
        )
    elif len(substantiation) > SUBSTANTIATION_MAX:
        add("substantiation", f"Keep the substantiation to {SUBSTANTIATION_MAX} characters.")
    if spec.evidence_url and not is_web_link(spec.evidence_url):
        add("evidence_url", "The evidence link must start with http:// or https://.")

    if len(spec.disclaimers) > MAX_DISCLAIMERS:
        add("disclaimers", f"At most {MAX_DISCLAIMERS} disclaimers.")
    for disclaimer in spec.disclaimers:
        if len(disclaimer) > DISCLAIMER_MAX:
            add("disclaimers", f"Each disclaimer is at most {DISCLAIMER_MAX} characters.")

    if not spec.jurisdictions:
        add("jurisdictions", "Say where the claim may be used (country codes such as US, DE).")
    bad = [code for code in spec.jurisdictions if not JURISDICTION.match(code)]
    if bad:
        add(
            "jurisdictions",
            f"Not a country or region code: {', '.join(bad)}. Use ISO codes such as US, GB, "
            "EU or US-CA.",
        )

    if spec.expires_on is None:
        add(
            "expires_on",
            "Give the date the claim expires (its substantiation is reviewed by then).",
        )
    elif spec.expires_on <= today:
        add("expires_on", "The expiry date must be after today.")
    elif spec.expires_on > today + MAX_VALIDITY:
        add("expires_on", "Claims are approved for five years at most; choose an earlier date.")
    return errors


def claim_is_approved_on(*, status: str, expires_on: date, day: date) -> bool:
    """Whether a claim may be used on ``day``. On its expiry date and after, an approved
    claim counts as unapproved."""
    return status == ClaimStatus.APPROVED and day < expires_on


def expiry_notice_due(
    *, status: str, expires_on: date, notice_sent: bool, today: date, notice_days: int
) -> bool:
    """Whether to tell the claim's legal owner it expires soon. Due from ``notice_days``
    before expiry until it expires — not only on that day, so a missed daily run catches
    up — and only once."""
    return (
        status == ClaimStatus.APPROVED
        and not notice_sent
        and expires_on - timedelta(days=notice_days) <= today < expires_on
    )


class ExpiryState(StrEnum):
    """How a claim reads on the registry page."""

    NONE = "none"  # not approved, or far from expiry
    SOON = "soon"
    EXPIRED = "expired"


def expiry_state(*, status: str, expires_on: date, today: date, notice_days: int) -> ExpiryState:
    if status != ClaimStatus.APPROVED:
        return ExpiryState.NONE
    if today >= expires_on:
        return ExpiryState.EXPIRED
    if today >= expires_on - timedelta(days=notice_days):
        return ExpiryState.SOON
    return ExpiryState.NONE


def validate_review_note(note: str, *, approve: bool) -> list[str]:
    if not approve and not note.strip():
        return ["Say why you reject it: a reason is required."]
    if len(note.strip()) > REVIEW_NOTE_MAX:
        return [f"Keep the note to {REVIEW_NOTE_MAX} characters."]
    return []


def wordings_clash(new: Iterable[str], existing: Iterable[str]) -> list[str]:
    """The new wordings that repeat an existing one (ignoring case, spacing, end dots)."""
    taken = {normalise_claim(w) for w in existing}
    return [w for w in new if normalise_claim(w) in taken]


def claim_ref(pk: int) -> str:
    return f"C{pk}"
