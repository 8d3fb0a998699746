"""Checking a drafted variant against the brand's rules before it is handed on, in pure
Python. A blocking finding means the variant never reaches distribution; a warning goes
to the reviewer with the draft.

Matching is case-insensitive and whitespace-insensitive, and a phrase only matches whole
words ("pro" does not match "proven"); a phrase that starts or ends with a symbol matches
however the symbol is spaced ("% off" matches "20% off" and "20 % off", and "%" also
matches "percent").

It lives with brand memory: the rules are the brand's (its approved and prohibited
claims, its voice, each channel's limits), built by ``memory.selectors.brand_rules``;
the agents above apply them to what they draft.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from campaigns.domain.briefs import CHANNELS, normalise_claim


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
    # Placement rules from brand memory ("keep “% off” out of subject lines"): phrases no
    # headline may carry, and phrases no email subject line (an email's headline) may.
    headline_prohibited_phrases: tuple[str, ...] = ()
    subject_line_prohibited_phrases: tuple[str, ...] = ()


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

#: What a channel without its own limits may hold.
DEFAULT_LIMITS = {"headline": 100, "body": 500}

#: What each channel calls its body, for messages people read.
BODY_NAMES: dict[str, str] = {
    "email": "email body",
    "search_ads": "search-ads description",
    "social_ads": "paid-social primary text",
    "display": "display-ad description",
    "social_organic": "organic-social post",
    "landing_page": "landing-page body",
}


def channel_limits(channel: str) -> dict[str, int]:
    return CHANNEL_LIMITS.get(channel, DEFAULT_LIMITS)


def required_claim_text(claims: Sequence[tuple[str, Sequence[str]]]) -> str:
    """The text every draft's body must carry: each required claim as a sentence, then
    the disclaimers its registry entry demands (``(claim, disclaimers)`` pairs, in order)."""
    sentences = [_as_sentence(claim) for claim, _ in claims]
    sentences += [_as_sentence(d) for _, disclaimers in claims for d in disclaimers if d.strip()]
    return " ".join(s for s in sentences if s)


def claims_fit(channel: str, claim_line: str) -> bool:
    """Whether ``claim_line`` (see :func:`required_claim_text`) fits the channel's body
    at all. When it does not, no draft for the channel can be both complete and within
    its limit: the channel is left out rather than sent with a cut claim."""
    return len(claim_line) <= channel_limits(channel)["body"]


def claims_misfit_reason(channel: str, claims: Sequence[tuple[str, Sequence[str]]]) -> str | None:
    """Why the required claims cannot go on ``channel`` (``None`` when they fit), in
    words a reviewer reads, e.g. The disclaimer for “Free shipping on orders over $40”
    does not fit the 90-character search-ads description."""
    if claims_fit(channel, required_claim_text(claims)):
        return None
    limit = channel_limits(channel)["body"]
    where = f"the {limit}-character {BODY_NAMES.get(channel, CHANNELS.get(channel, channel))}"
    bare = required_claim_text([(claim, ()) for claim, _ in claims])
    quoted = " and ".join(f"“{claim}”" for claim, _ in claims)
    if not claims_fit(channel, bare):
        verb = "does" if len(claims) == 1 else "do"
        return f"{quoted} {verb} not fit {where}."
    disclaimed = [claim for claim, disclaimers in claims if any(d.strip() for d in disclaimers)]
    count = sum(1 for _, disclaimers in claims for d in disclaimers if d.strip())
    named = " and ".join(f"“{claim}”" for claim in disclaimed)
    if count == 1:
        return f"The disclaimer for {named} does not fit {where}."
    return f"The disclaimers for {named} do not fit {where}."


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
    placed = [(p, "headlines") for p in rules.headline_prohibited_phrases]
    if channel == "email":
        placed += [(p, "email subject lines") for p in rules.subject_line_prohibited_phrases]
    for phrase, where in placed:
        if _contains(headline, phrase):
            findings.append(
                Finding(
                    "phrase.headline_prohibited",
                    Severity.BLOCK,
                    f"The headline uses “{phrase}”, which the brand keeps out of {where}.",
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


def mentions(text: str, phrase: str) -> bool:
    """Whether ``text`` says ``phrase``, as the checker matches it (see the module's
    docstring); writers use it to avoid what the checker would refuse."""
    return _contains(text, phrase)


def _contains(text: str, phrase: str) -> bool:
    """Whether ``text`` says ``phrase``: whole words, any case and spacing."""
    tokens = re.findall(r"\w+|[^\w\s]", phrase)
    if not tokens:
        return False
    pattern = r"(?<!\w)" if _is_word(tokens[0]) else ""
    for i, token in enumerate(tokens):
        if i:
            # Between two words there must be a space; next to a symbol there need not be.
            both_words = _is_word(tokens[i - 1]) and _is_word(token)
            pattern += r"\s+" if both_words else r"\s*"
        pattern += r"(?:%|\s*per\s?cent\b)" if token == "%" else re.escape(token)
    if _is_word(tokens[-1]):
        pattern += r"(?!\w)"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def _is_word(token: str) -> bool:
    return bool(re.match(r"\w", token))


def _as_sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?" else f"{text}."
