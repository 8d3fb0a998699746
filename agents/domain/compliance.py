"""Checking a drafted variant against the brand's rules before it is handed on, in pure
Python. A blocking finding means the variant never reaches distribution; a warning goes
to the reviewer with the draft.

Matching is case-insensitive and whitespace-insensitive, and a phrase only matches whole
words ("pro" does not match "proven").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from campaigns.domain.briefs import normalise_claim


class Severity(StrEnum):
    BLOCK = "block"
    WARN = "warn"


@dataclass(frozen=True)
class BrandRules:
    prohibited_phrases: tuple[str, ...] = ()
    prohibited_claims: tuple[str, ...] = ()
    approved_claims: tuple[str, ...] = ()
    # approved claim -> the disclaimers that must accompany it (a single string is one)
    required_disclaimers: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    # words the brand's voice avoids (a warning, not a block)
    avoided_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str


#: What each channel's fields can hold (characters).
CHANNEL_LIMITS: dict[str, dict[str, int]] = {
    "email": {"headline": 78, "body": 5000},  # headline = subject line
    "search_ads": {"headline": 30, "body": 90},
    "social_ads": {"headline": 40, "body": 125},
    "display": {"headline": 30, "body": 90},
    "social_organic": {"headline": 100, "body": 280},
    "landing_page": {"headline": 70, "body": 400},
}


def check_variant(
    *, channel: str, headline: str, body: str, claims: Iterable[str], rules: BrandRules
) -> list[Finding]:
    """Every problem with one drafted variant; empty when it may be handed on."""
    findings: list[Finding] = []
    text = f"{headline}\n{body}"
    used_claims = [c for c in claims if c.strip()]

    for phrase in rules.prohibited_phrases:
        if _contains(text, phrase):
            findings.append(
                Finding(
                    "phrase.prohibited", Severity.BLOCK, f"Uses the prohibited phrase “{phrase}”."
                )
            )
    banned = {normalise_claim(c): c for c in rules.prohibited_claims}
    for claim in rules.prohibited_claims:
        if _contains(text, claim):
            findings.append(
                Finding(
                    "claim.prohibited", Severity.BLOCK, f"Makes the prohibited claim “{claim}”."
                )
            )
    approved = {normalise_claim(c) for c in rules.approved_claims}
    for claim in used_claims:
        key = normalise_claim(claim)
        if key in banned and not _contains(text, banned[key]):
            findings.append(
                Finding(
                    "claim.prohibited", Severity.BLOCK, f"Makes the prohibited claim “{claim}”."
                )
            )
        elif key not in approved:
            findings.append(
                Finding(
                    "claim.unapproved",
                    Severity.BLOCK,
                    f"“{claim}” is not an approved claim for this brand; legal must approve it.",
                )
            )
    disclaimers = {
        # TRICKY: a bare string is one disclaimer; iterating it would check single letters.
        normalise_claim(c): (d,) if isinstance(d, str) else tuple(d)
        for c, d in rules.required_disclaimers.items()
    }
    for claim in used_claims:
        for disclaimer in disclaimers.get(normalise_claim(claim), ()):
            if disclaimer and not _contains(text, disclaimer):
                findings.append(
                    Finding(
                        "disclaimer.missing",
                        Severity.BLOCK,
                        f"“{claim}” needs its disclaimer: “{disclaimer}”.",
                    )
                )
    for word in rules.avoided_words:
        if _contains(text, word):
            findings.append(
                Finding("voice.avoided_word", Severity.WARN, f"The brand's voice avoids “{word}”.")
            )
    for name, value in (("headline", headline), ("body", body)):
        limit = CHANNEL_LIMITS.get(channel, {}).get(name)
        if limit is not None and len(value) > limit:
            findings.append(
                Finding(
                    f"channel.{name}_too_long",
                    Severity.BLOCK,
                    f"The {name} has {len(value)} characters; {channel} allows {limit}.",
                )
            )
    # Unique, in order: one finding per problem even if several rules saw it.
    seen, unique = set(), []
    for finding in findings:
        if (finding.rule, finding.message) not in seen:
            seen.add((finding.rule, finding.message))
            unique.append(finding)
    return unique


def blocks(findings: Iterable[Finding]) -> bool:
    return any(f.severity == Severity.BLOCK for f in findings)


def _contains(text: str, phrase: str) -> bool:
    words = phrase.split()
    if not words:
        return False
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None
