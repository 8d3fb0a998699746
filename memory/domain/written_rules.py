"""Rules a brand wrote as sentences, read into rules a checker can apply, in pure Python.

Brand memory keeps voice rules and failure modes as a person wrote them: "Discount-led
subject lines lift opens but cut repeat orders; keep “% off” out of subject lines", or
"Say 'roasted to order', never 'the best coffee in the world'". Read as prose they bind
nobody; read here they become a placement rule (a phrase kept out of email subject lines,
or out of every headline) and a phrase the voice avoids, which ``check_variant`` applies
to every draft, whichever model wrote it.

Only quoted phrases are ever read as rules, so a sentence without quotes never bans a
word by accident. A quoted phrase is banned when the nearest cue before it is a negative
one ("keep", "never", "no", "avoid"…, not "say", "use", "lead with"…), or when it is
followed by "out of"/"never"; a phrase joined to a banned one by "or"/"and" is banned too.

It lives with brand memory, whose entries it reads (``memory.selectors.brand_rules``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Placement(StrEnum):
    SUBJECT_LINE = "subject_line"  # an email's headline
    HEADLINE = "headline"  # every channel's headline, subject lines included


@dataclass(frozen=True)
class PlacementBan:
    """A phrase the brand keeps out of one place in its copy."""

    phrase: str
    placement: Placement


@dataclass(frozen=True)
class WrittenRules:
    """Everything the brand's written rules ban, ready for ``BrandRules``."""

    headline: tuple[str, ...] = ()
    subject_line: tuple[str, ...] = ()
    avoided: tuple[str, ...] = ()


# Quoted phrases: curly or straight quotes; a straight single quote only opens after a
# non-letter and closes before one, so the apostrophe in "don't" never opens a quote.
# (Curly single quotes are written \u2018/\u2019 so the patterns read unambiguously.)
_QUOTED = re.compile(
    r"“(?P<a>[^”]{1,120})”|\u2018(?P<b>[^\u2019]{1,120})\u2019|\"(?P<c>[^\"]{1,120})\""
    r"|(?<![A-Za-z])'(?P<d>[^']{1,120})'(?![A-Za-z])"
)
_CLAUSES = re.compile(r";|(?<=[.!?])\s+(?=[A-Z“\"'\u2018])|\n")
_SUBJECT = re.compile(r"\bsubject(?:\s+lines?|s)?\b", re.IGNORECASE)
_HEADLINE = re.compile(r"\b(?:headlines?|headers?|titles?)\b", re.IGNORECASE)
_NEGATIVE = (
    r"keep|never|no|not|don['\u2019]?t|do\s+not|avoid|without|leave|ban|banned|drop|remove"
    r"|exclude|stop"
)
_POSITIVE = r"say|use|write|lead\s+with|prefer|try|call\s+it|include|mention|frame\b.*\bas"
_CUE = re.compile(rf"\b(?:(?P<neg>{_NEGATIVE})|(?P<pos>{_POSITIVE}))\b", re.IGNORECASE)
# After a phrase: "“sale” stays out of…", "“deal” never goes in…", "… is not in…".
_AFTER_NEGATIVE = re.compile(
    r"^\W*(?:\w+\s+){0,2}?(?:out\s+of|(?:never|not)\s+(?:in|goes?|appears?|belongs?))\b",
    re.IGNORECASE,
)
_JOINED = re.compile(r"^[\s,]*(?:or|and|nor|,)?[\s,]*$", re.IGNORECASE)


def placement_bans(text: str) -> tuple[PlacementBan, ...]:
    """The phrases ``text`` keeps out of subject lines or headlines.

    "keep “% off” out of subject lines" → (“% off”, subject line); "never put 'sale' or
    'deal' in headlines" → both, every headline. A clause naming both places bans the
    phrase from every headline (the broader place)."""
    bans: list[PlacementBan] = []
    for clause in _clauses(text):
        if _HEADLINE.search(clause):
            placement = Placement.HEADLINE
        elif _SUBJECT.search(clause):
            placement = Placement.SUBJECT_LINE
        else:
            continue
        bans.extend(PlacementBan(phrase, placement) for phrase in _banned_in(clause))
    return tuple(_unique(bans))


def phrase_bans(text: str) -> tuple[str, ...]:
    """Phrases ``text`` tells the voice never to use, wherever they would go ("Say
    'roasted to order', never 'the best coffee in the world'" → the second). Clauses about
    subject lines or headlines are placement rules, not these."""
    found: list[str] = []
    for clause in _clauses(text):
        if _HEADLINE.search(clause) or _SUBJECT.search(clause):
            continue
        found.extend(_banned_in(clause))
    return tuple(_unique(found))


def read_written_rules(texts: Iterable[str]) -> WrittenRules:
    """Every ban in the brand's written rules (voice rules and failure modes)."""
    headline: list[str] = []
    subject_line: list[str] = []
    avoided: list[str] = []
    for text in texts:
        for ban in placement_bans(text):
            (headline if ban.placement == Placement.HEADLINE else subject_line).append(ban.phrase)
        avoided.extend(phrase_bans(text))
    return WrittenRules(
        headline=tuple(_unique(headline)),
        subject_line=tuple(p for p in _unique(subject_line) if p not in headline),
        avoided=tuple(_unique(avoided)),
    )


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSES.split(text or "") if c.strip()]


def _banned_in(clause: str) -> list[str]:
    """The quoted phrases of one clause that it bans."""
    banned: list[str] = []
    previous_end, previous_banned = 0, False
    quotes = list(_QUOTED.finditer(clause))
    for i, quote in enumerate(quotes):
        phrase = " ".join(next(g for g in quote.groups() if g is not None).split())
        before = clause[previous_end : quote.start()]
        after = clause[quote.end() : quotes[i + 1].start() if i + 1 < len(quotes) else None]
        cues = list(_CUE.finditer(before))
        if cues:
            is_banned = cues[-1].group("neg") is not None
        else:
            # "“sale” or “deal”": a phrase joined to the one before shares its verdict.
            is_banned = bool(i and previous_banned and _JOINED.match(before))
        is_banned = is_banned or bool(_AFTER_NEGATIVE.match(after))
        if is_banned and phrase:
            banned.append(phrase)
        previous_end, previous_banned = quote.end(), is_banned
    return banned


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))
