"""Customer-facing copy from a brief's customer-facing facts, in pure Python: what the
offline composer writes drafts with.

What copy may be made of: the offer, who the audience is (read as whom the copy speaks
to, never pasted), the line of an angle the brand's memory says worked, the required
claims with their disclaimers, and the brand's name. What it is never made of: the
brief's title, objective, success target, escalation criteria or any other note for the
team (``copy_check`` refuses copy that carries them, whoever wrote it).

Fitting without cutting: every ingredient comes as a ladder of phrasings, longest first
("Free 14-day trial, no credit card needed" → "Free 14-day trial"), each template is tried
with each phrasing, and a body drops whole optional sentences (the call to action, the
welcome…) before it drops the offer. A line that is too long is never cut: a shorter
phrasing, another template, or fewer sentences is chosen instead.

Variety: templates are offered in an order rotated by a stable hash of the campaign,
channel and variant (``seeded``; never Python's per-process ``hash``), so two campaigns
with the same offer open differently, and the caller skips any headline the brand has
already used (``headline_key`` compares them).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from memory.domain.compliance import mentions

T = TypeVar("T")


class Relation(StrEnum):
    """How the audience stands with the brand, as far as the brief says."""

    NONE = ""
    NEW = "new"  # "new customers", "prospective members"
    KNOWN = "known"  # "existing customers", "past donors"
    RETURNING = "returning"  # "lapsed subscribers", "churned members"


@dataclass(frozen=True)
class Audience:
    """Whom the copy speaks to, read from the brief's audience: a short addressee
    ("IT managers", "couples planning a wedding"; "" when the brief only says "customers")
    and how they stand with the brand."""

    addressee: str = ""
    relation: Relation = Relation.NONE


@dataclass(frozen=True)
class Line:
    """A piece of copy and the brand-memory refs it rests on (the draft cites them)."""

    text: str
    refs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Angle:
    """The customer-facing line of an angle that worked, and its memory ref."""

    line: str
    ref: str


@dataclass(frozen=True)
class CopyFacts:
    """Everything copy may be made of."""

    brand: str
    offer: str = ""
    audience: Audience = field(default_factory=Audience)
    angles: tuple[Angle, ...] = ()
    claims: tuple[str, ...] = ()  # the required claims, as written
    claim_line: str = ""  # the claims and their disclaimers: every body carries it
    disclaimers: tuple[str, ...] = ()  # the claims' disclaimers alone


class Lead(StrEnum):
    """What a variant opens with: two variants of a channel open differently."""

    OFFER = "offer"
    STORY = "story"  # the angle that worked, the claim, the brand
    WELCOME = "welcome"  # whom it is for, and how they stand with the brand


# --- Reading the audience ---------------------------------------------------------------

# Where the head of an audience description ends: a qualifier ("… who …", "… at …",
# "…, 28 to 45", "… (B2B)").
_QUALIFIER = re.compile(
    r"\s*(?:[,;:(\[\u2013\u2014]|\s-\s|(?<!\w)\d|\b(?:who|whose|that|which|with|without|in|at|on"
    r"|for|from|across|within|near|aged|between|living|based|over|under|by|via|through)\b).*$",
    re.IGNORECASE | re.DOTALL,
)
_CONJUNCTION = re.compile(r"\s+(?:and|or|plus|&)\s+|\s*/\s*", re.IGNORECASE)
#: Words that describe an audience for the team, never to its face.
_JARGON_HEADS = frozenset(
    {"prospects", "leads", "lookalikes", "look-alikes", "icp", "segment", "segments"}
    | {"audience", "audiences", "mqls", "sqls", "accounts", "personas", "cohort", "cohorts"}
)
_INTERNAL_WORDS = frozenset(
    {"b2b", "b2c", "high-value", "low-value", "high-intent", "low-intent", "in-market"}
    | {"qualified", "engaged", "unengaged", "target", "targeted", "look-alike", "lookalike"}
    | {"key", "identified", "segmented", "warm", "cold", "hot"}
)
_RETURNING = frozenset({"lapsed", "churned", "inactive", "dormant", "former", "lost"})
_KNOWN = frozenset({"existing", "current", "loyal", "active", "repeat", "returning", "past"})
_NEW = frozenset({"new", "first-time", "prospective", "potential", "future"})
#: Heads too general to address anyone by ("For customers: …" says nothing).
_GENERIC_HEADS = frozenset(
    {"customers", "customer", "people", "users", "clients", "buyers", "shoppers", "consumers"}
    | {"members", "subscribers", "adults", "everyone", "households", "individuals"}
    | {"visitors", "fans", "followers", "readers", "contacts", "audience", "market"}
)
_POSSESSIVE = frozenset({"a", "an", "the", "their", "your", "our", "his", "her", "its"})


def read_audience(text: str) -> Audience:
    """Whom ``text`` (a brief's audience) is about, as copy may address them.

    "IT managers at 50 to 500 person companies" → "IT managers"; "Lapsed subscribers who
    stopped ordering" → nobody in particular, returning; "Existing customers and look-alike
    prospects in the home market" → nobody in particular, known."""
    head = _QUALIFIER.sub("", " ".join((text or "").split()))
    parts = [p.split() for p in _CONJUNCTION.split(head) if p.strip()]
    parts = [p for p in parts if p and p[-1].casefold() not in _JARGON_HEADS]
    if not parts:
        return Audience()
    words = [w for w in parts[0] if w.casefold() not in _INTERNAL_WORDS]
    relation = Relation.NONE
    while words and words[0].casefold() in (_RETURNING | _KNOWN | _NEW):
        first = words[0].casefold()
        if first in _NEW and len(words) > 1 and words[-1].casefold() not in _GENERIC_HEADS:
            break  # "new parents" are parents, not new customers
        relation = (
            Relation.RETURNING
            if first in _RETURNING
            else Relation.KNOWN
            if first in _KNOWN
            else Relation.NEW
        )
        words = words[1:]
    # "New parents sleeping" → "new parents"; "couples planning a wedding" stays whole.
    trailing_participle = len(words) > 2 and words[-1].casefold().endswith("ing")
    if trailing_participle and words[-2].casefold() not in _POSSESSIVE:
        words = words[:-1]
    addressee = " ".join(words)
    if not words or words[-1].casefold() in _GENERIC_HEADS or len(words) > 5:
        addressee = ""
    if len(addressee) > 40:
        addressee = ""
    return Audience(addressee=inline(addressee), relation=relation)


# --- Phrasings --------------------------------------------------------------------------

_TAKE = ("Take", "Get", "Enjoy")
_ORDINAL = frozenset({"first", "next", "second", "third", "free", "welcome"})
_PERCENT_AT = re.compile(r"(?P<what>.+?)\s+at\s+(?P<pct>\d+(?:[.,]\d+)?\s?%)\s+off", re.I)
_PERCENT_OFF = re.compile(r"(?P<pct>\d+(?:[.,]\d+)?\s?%)\s+off\s+(?P<what>.+)", re.I)
_HALF_PRICE = re.compile(r"half[ -]price\s+on\s+(?P<what>.+)", re.I)
_CLAUSE_BREAK = re.compile(r",\s+|\s+[\u2013\u2014-]\s+|;\s+|\s+\(")


def offer_phrasings(offer: str) -> list[str]:
    """The offer as written, then other ways to say the same thing (for variety, and to
    fit where it does not): "First month at 20 % off" → "20 % off your first month", "Save
    20 % on your first month", "Take 20 % off your first month"…; "Free 14-day trial, no
    credit card needed" → "Free 14-day trial". Never a different offer: the figures and
    what they apply to stay as written."""
    offer = _clean(offer)
    if not offer:
        return []
    found = [sentence(offer)]
    if match := _PERCENT_AT.fullmatch(offer):
        what, pct = inline(match["what"]), match["pct"]
        your = "your " if what.split()[0].casefold() in _ORDINAL else ""
        found += [f"{pct} off {your}{what}", *(f"{verb} {pct} off {your}{what}" for verb in _TAKE)]
        found += [f"Save {pct} on {your}{what}"]
    elif match := _PERCENT_OFF.fullmatch(offer):
        what, pct = inline(match["what"]), match["pct"]
        found += [f"{sentence(what)} at {pct} off", *(f"{verb} {offer}" for verb in _TAKE)]
        found += [f"Save {pct} on {what}"]
    elif match := _HALF_PRICE.fullmatch(offer):
        what = inline(match["what"])
        found += [f"{sentence(what)} at half price", f"Save half on {what}"]
    found += clauses(offer)[1:2]
    return _unique(found)


def clauses(text: str) -> list[str]:
    """``text``, then each of its clauses that can stand alone (two words or more, not
    leaning on the one before): "Roasted to order, shipped within a day" → that, "Roasted
    to order", "Shipped within a day"; "Set up in an afternoon, not a quarter" → that,
    "Set up in an afternoon"."""
    text = _clean(text)
    if not text:
        return []
    parts = [p.strip(" )") for p in _CLAUSE_BREAK.split(text)]
    standalone = [p for p in parts[1:] if p.split()[0].casefold() not in _LEANING]
    lines = [text, *parts[:1], *standalone]
    return _unique([sentence(p) for p in lines if len(p.split()) >= 2])


#: Words a clause cannot open with and stand alone ("not a quarter", "but never…").
_LEANING = frozenset({"not", "no", "but", "and", "or", "nor", "never", "without", "yet", "so"})


def quoted_line(text: str) -> str:
    """The words an angle quotes ("Lead with freshness: “roasted to order”" → "Roasted to
    order"); "" when it quotes none, since the rest is advice to the writer, not copy."""
    found = re.search(r"[“\"]([^”\"]+)[”\"]", text)
    return sentence(_clean(found.group(1))) if found else ""


_KEEP_CASE = frozenset(
    {"january", "february", "march", "april", "may", "june", "july", "august", "september"}
    | {"october", "november", "december", "monday", "tuesday", "wednesday", "thursday"}
    | {"friday", "saturday", "sunday", "i"}
)


def inline(text: str) -> str:
    """``text`` to go mid-sentence: its first letter lower-cased unless the first word is
    a name or an acronym ("IT managers", "January sale", "iPhone cases")."""
    if not text:
        return text
    first = text.split()[0]
    keep = (
        (len(first) > 1 and first.isupper())
        or any(c.isupper() for c in first[1:])
        or first.casefold().strip(",.:;") in _KEEP_CASE
    )
    return text if keep else text[0].lower() + text[1:]


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def headline_key(text: str) -> tuple[str, ...]:
    """What makes two headlines the same: their words, whatever the case or punctuation."""
    return tuple(re.findall(r"[^\W_]+", text.casefold().replace("%", " percent ")))


def seeded(items: Sequence[object], *key: object) -> int:
    """A stable starting index into ``items`` for ``key`` (campaign, channel, variant…)."""
    if not items:
        return 0
    digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return int.from_bytes(digest[:8], "big") % len(items)


def rotated(items: Sequence[T], *key: object) -> list[T]:
    """``items`` starting at the seeded index for ``key``, in their order after that."""
    start = seeded(items, *key)
    return [*items[start:], *items[:start]]


# --- Headlines --------------------------------------------------------------------------


def headline_options(
    facts: CopyFacts, *, lead: Lead, channel: str, offer_ok: bool
) -> list[list[Line]]:
    """The headline templates for ``lead``, each as its phrasings (longest first).
    ``offer_ok`` is False where the brand keeps the offer's wording out of headlines."""
    brand = facts.brand
    offers = offer_phrasings(facts.offer) if offer_ok else []
    angles = [Line(text, frozenset({a.ref})) for a in facts.angles for text in clauses(a.line)]
    claims = [Line(sentence(_clean(c))) for c in facts.claims if len(c) <= 45]
    person = facts.audience.addressee
    relation = facts.audience.relation
    templates: list[list[Line]] = []

    def add(lines: Sequence[Line]) -> None:
        lines = [line for line in lines if line.text]
        if lines:
            templates.append(sorted(lines, key=lambda line: -len(line.text)))

    def with_offer(make: Callable[[str, str], str], *, trailing: bool = False) -> None:
        # An offer followed by more words reads badly with a comma of its own ("Free
        # trial, no card needed from Relay Desk"): those templates take plain phrasings.
        usable = [o for o in offers if not trailing or "," not in o]
        add([Line(make(o, inline(o))) for o in usable])

    if lead == Lead.OFFER:
        with_offer(lambda o, lo: o)
        with_offer(lambda o, lo: f"{o} at {brand}", trailing=True)
        with_offer(lambda o, lo: f"{brand}: {lo}")
        with_offer(lambda o, lo: f"{o} from {brand}", trailing=True)
        with_offer(lambda o, lo: f"Good news: {lo}")
        if offers and offers[0].split()[0].casefold() in _ORDINAL:
            add([Line(f"Your {inline(offers[0])}")])
        for angle in angles:
            add([Line(f"{o}: {inline(angle.text)}", angle.refs) for o in offers if "," not in o])
        if person:
            with_offer(lambda o, lo: f"For {person}: {lo}")
            with_offer(lambda o, lo: f"{sentence(person)}: {lo}")
        if relation == Relation.RETURNING:
            with_offer(lambda o, lo: f"Welcome back: {lo}")
        elif relation == Relation.KNOWN:
            with_offer(lambda o, lo: f"With thanks: {lo}")
            if person:
                with_offer(lambda o, lo: f"For our {person}: {lo}")
        elif relation == Relation.NEW:
            with_offer(lambda o, lo: f"New to {brand}? {o}")
        return templates

    if lead == Lead.STORY:
        for angle in angles:
            said = inline(angle.text)
            add([angle])
            add([Line(f"{brand}: {said}", angle.refs)])
            add([Line(f"From {brand}: {said}", angle.refs)])
            add([Line(f"The {brand} difference: {said}", angle.refs)])
            add([Line(f"How we do it: {said}", angle.refs)])
            if "," not in angle.text:
                add([Line(f"{angle.text}, from {brand}", angle.refs)])
                plain = [o for o in offers if "," not in o]
                add([Line(f"{angle.text}, and {inline(o)}", angle.refs) for o in plain])
        for claim in claims:
            add([claim])
            add([Line(f"{brand}: {inline(claim.text)}")])
    if person:
        add([Line(f"{brand} for {person}")])
        add([Line(f"{sentence(person)}, this one's for you")])
    if relation == Relation.RETURNING:
        add([Line(f"We've missed you at {brand}")])
        add([Line(f"Come back to {brand}")])
    elif relation == Relation.KNOWN:
        add([Line(f"A thank-you from {brand}")])
        add([Line(f"Thanks for choosing {brand}")])
        if person:
            add([Line(f"A thank-you to our {person}")])
    else:
        add([Line(f"Meet {brand}")])
        add([Line(f"Say hello to {brand}")])
    add([Line(f"Something for you from {brand}")])
    add([Line(f"A note from {brand}")])
    add([Line(f"News from {brand}")])
    add([Line(f"Good news from {brand}")])
    add([Line(f"Hello from {brand}")])
    if facts.offer and channel == "email":
        # Subject lines that promise the offer without saying it (where the brand keeps
        # its wording out of subject lines, these carry the email).
        add([Line(f"An offer from {brand} inside")])
        add([Line(f"Your {brand} offer is here")])
        add([Line(f"A little something from {brand}")])
        add([Line(_EMAIL_OFFER_HINTS[relation].format(B=brand))])
    if channel != "email":
        add([Line(brand)])  # an email's sender already says who it is from
    return templates


_EMAIL_OFFER_HINTS = {
    Relation.RETURNING: "A welcome-back offer from {B}",
    Relation.KNOWN: "A thank-you offer from {B}",
    Relation.NEW: "A welcome offer from {B}",
    Relation.NONE: "An offer for you from {B}",
}


# --- Bodies -----------------------------------------------------------------------------

_OFFER_FORMS = ("{O}.", "Our offer: {o}.", "Here's our offer: {o}.")
_CALLS = ("Find out more.", "Take a look today.", "Come and see.", "See the details.")
_WELCOMES: dict[Relation, tuple[str, ...]] = {
    Relation.RETURNING: ("We've missed you.", "It's been a while, and we'd love to see you again."),
    Relation.KNOWN: ("Thank you for choosing {B}.", "A small thank-you for being with us."),
    Relation.NEW: ("Welcome to {B}.", "Nice to meet you."),
    Relation.NONE: ("Here's something we think you'll like.", "Something good from {B}."),
}
_FOR_PERSON = ("This one is for {p}.", "Just for {p}.")


def body_options(facts: CopyFacts, *, lead: Lead, channel: str, style: int) -> Iterator[Line]:
    """Bodies for ``lead``, best first: every optional sentence in its first phrasing,
    then shorter phrasings, then fewer sentences (the least important dropped first). The
    claim line is never dropped. ``style`` picks the wording of each sentence."""
    brand, person = facts.brand, facts.audience.addressee
    if person:
        welcome = _pick(_FOR_PERSON, style).format(p=person)
    else:
        welcome = _pick(_WELCOMES[facts.audience.relation], style).format(B=brand)
    parts: dict[str, list[Line]] = {
        "offer": [
            Line(_pick(_OFFER_FORMS, style).format(O=o, o=inline(o)))
            for o in offer_phrasings(facts.offer)
        ],
        "story": [
            Line(_as_sentence(text), frozenset({a.ref}))
            for a in facts.angles
            for text in clauses(a.line)
        ],
        "welcome": [Line(welcome)],
        "call": [Line(_pick(_CALLS, style // 2))],
    }
    reading_order = {
        Lead.OFFER: ("offer", "welcome", "story", "call"),
        Lead.STORY: ("story", "offer", "welcome", "call"),
        Lead.WELCOME: ("welcome", "offer", "story", "call"),
    }[lead]
    # What is dropped last: what the variant leads with, then the offer, the story, the
    # welcome, and the call to action first of all.
    importance = [reading_order[0], "offer", "story", "welcome", "call"]
    ranked = [n for n in dict.fromkeys(importance) if parts[n]]
    for kept in _subsets_by_importance(ranked):
        names = [n for n in reading_order if n in kept]
        # Each part's phrasings are ranked (as written first, then shorter ways to say
        # it): prefer the combination that departs least from the first phrasings.
        combos = sorted(
            itertools.product(*(list(enumerate(parts[n])) for n in names)),
            key=lambda ranked_lines: sum(rank for rank, _ in ranked_lines),
        )
        for ranked_lines in combos:
            lines = [line for _, line in ranked_lines]
            body = _assemble(facts, dict(zip(names, lines, strict=True)), channel)
            if body is not None:
                yield body


def _subsets_by_importance(names: list[str]) -> Iterator[set[str]]:
    """Every subset of ``names`` (ranked most important first), from all of them down to
    none, those keeping the more important ones first."""
    n = len(names)
    for mask in range(2**n - 1, -1, -1):
        yield {names[i] for i in range(n) if mask >> (n - 1 - i) & 1}


def _assemble(facts: CopyFacts, chosen: dict[str, Line], channel: str) -> Line | None:
    """One body from the chosen sentences, with the claims: right after the sentence that
    already states them (then only their disclaimers are added), else before the call to
    action."""
    lines = list(chosen.values())
    if facts.claim_line:
        stating = next(
            (
                i
                for i, line in enumerate(lines)
                if facts.claims and all(mentions(line.text, claim) for claim in facts.claims)
            ),
            None,
        )
        if stating is not None:
            if facts.disclaimers:
                said = " ".join(_as_sentence(d) for d in facts.disclaimers)
                lines.insert(stating + 1, Line(said))
        else:
            at = len(lines) - 1 if "call" in chosen else len(lines)
            lines.insert(at, Line(facts.claim_line))
    if not lines:
        return None
    refs = frozenset().union(*(line.refs for line in lines))
    if channel == "email":
        text = "\n\n".join([*(line.text for line in lines), f"The {facts.brand} team"])
    else:
        text = " ".join(line.text for line in lines)
    return Line(text, refs)


# --- Helpers ----------------------------------------------------------------------------


def _pick(options: Sequence[str], style: int) -> str:
    return options[style % len(options)]


def _clean(text: str) -> str:
    return " ".join((text or "").split()).strip().rstrip(".!;:,")


def _as_sentence(text: str) -> str:
    text = sentence(_clean(text))
    return text if not text or text[-1] in ".!?" else f"{text}."


def _unique(items: Sequence[str]) -> list[str]:
    seen: set[tuple[str, ...]] = set()
    found = []
    for item in items:
        key = headline_key(item)
        if item and key not in seen:
            seen.add(key)
            found.append(item)
    return found
