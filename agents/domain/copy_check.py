"""Refusing customer-facing copy that carries the brief's notes for the team, in pure Python.

A brief mixes what customers may read (the offer, the required claims) with what only the
team should: the campaign's title, its objective, its success target, its budget and its
escalation criteria. A draft that repeats the latter tells customers the campaign's
internals ("…get 1,500 first orders of the 12-pack before the end of January"), so it
is held back like a draft that breaks a brand rule, whichever model wrote it. The
findings are ``compliance.Finding`` s (severity BLOCK), so they add to ``check_variant``'s.

Matching ignores case, spacing and punctuation. The objective and the escalation criteria
leak when a run of words from them (``OBJECTIVE_RUN`` / ``CRITERIA_RUN`` words, at least
two of them not filler words) appears in the copy; a figure leaks when the copy states a
number the internal notes hold (1,500 = 1500 = 1.5k); the title leaks when it opens the
headline or labels a line ("Winter warmers: …"). Whatever the customer-facing fields say
is never a leak: an offer may well share words or numbers with the objective.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from memory.domain.compliance import Finding, Severity

#: How many consecutive words of the objective make a leak (fewer could be chance).
OBJECTIVE_RUN = 5
#: Escalation criteria are short sentences: a shorter run gives them away.
CRITERIA_RUN = 4

#: Words that carry no meaning alone: a run made mostly of them proves nothing.
FILLER = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "before", "by", "for", "from", "in"),
        *("into", "is", "it", "its", "of", "on", "or", "our", "so", "than", "that", "the"),
        *("their", "them", "this", "to", "up", "we", "what", "when", "which", "while", "who"),
        *("will", "with", "within", "without", "you", "your"),
    }
)


@dataclass(frozen=True)
class InternalNotes:
    """The brief's fields that are for the team, and the texts copy may quote anyway."""

    title: str = ""
    objective: str = ""
    escalation_criteria: str = ""
    # Figures that are for the team: the success target, the budget, the daily cap.
    figures: tuple[tuple[str, Decimal], ...] = ()
    # What customers may read even where it repeats the notes: the offer, the claims.
    customer_facing: tuple[str, ...] = ()

    @classmethod
    def of_brief(cls, brief: Any) -> InternalNotes:
        """The notes of a brief (the model or a ``BriefSpec``; read by attribute)."""
        figures = [
            (name, Decimal(value))
            for name, value in (
                ("the success target", getattr(brief, "success_target", None)),
                ("the budget", getattr(brief, "budget", None)),
                ("the daily cap", getattr(brief, "daily_cap", None)),
            )
            if value is not None
        ]
        return cls(
            title=getattr(brief, "title", "") or "",
            objective=getattr(brief, "objective", "") or "",
            escalation_criteria=getattr(brief, "escalation_criteria", "") or "",
            figures=tuple(figures),
            customer_facing=(
                getattr(brief, "offer", "") or "",
                *map(str, getattr(brief, "required_claims", None) or ()),
            ),
        )


def internal_leaks(*, headline: str, body: str, notes: InternalNotes) -> list[Finding]:
    """Every way the copy repeats the brief's internal notes; empty when it does not."""
    findings: list[Finding] = []
    copy = f"{headline}\n{body}"
    allowed_text = " \n ".join(notes.customer_facing)
    allowed_words = _words(allowed_text)
    copy_tokens = _Tokens.of(copy)

    run = _shared_run(copy_tokens, _words(notes.objective), allowed_words, OBJECTIVE_RUN)
    if run:
        findings.append(
            Finding(
                "copy.internal_objective",
                Severity.BLOCK,
                f"Repeats the brief's objective (“{run}”): the objective is for the team, "
                "not for customers.",
            )
        )
    criteria = _words(notes.escalation_criteria)
    run = _shared_run(copy_tokens, criteria, allowed_words, CRITERIA_RUN)
    if run:
        findings.append(
            Finding(
                "copy.internal_escalation",
                Severity.BLOCK,
                f"Repeats the brief's escalation criteria (“{run}”), which are for the team.",
            )
        )
    acronyms = _acronyms(f"{notes.objective}\n{notes.escalation_criteria}") - _acronyms(
        allowed_text
    )
    for acronym in sorted(acronyms & _acronyms(copy)):
        findings.append(
            Finding(
                "copy.internal_term",
                Severity.BLOCK,
                f"Uses “{acronym}” from the brief's internal notes; customers should not "
                "read campaign metrics.",
            )
        )
    stated = _numbers(copy)
    allowed_numbers = _numbers(allowed_text)
    for figure, where in _internal_figures(notes):
        if figure in stated and figure not in allowed_numbers:
            findings.append(
                Finding(
                    "copy.internal_figure",
                    Severity.BLOCK,
                    f"States {_show(figure)}, {where}: targets and budgets are for the team, "
                    "not for customers.",
                )
            )
    if _title_leaks(headline, body, notes.title, allowed_words):
        findings.append(
            Finding(
                "copy.internal_title",
                Severity.BLOCK,
                f"Uses the campaign's title “{notes.title}” as copy; titles are for the team.",
            )
        )
    return findings


# Curly apostrophes and dashes are written \u2019, \u2013, \u2014 so patterns read plainly.
_TOKEN = re.compile(r"\d{1,3}(?:[,.]\d{3})+(?!\d)|[^\W_]+(?:['\u2019][^\W_]+)?")


@dataclass(frozen=True)
class _Tokens:
    """A text's words, normalised ("1,500" → "1500", "Don't" → "dont"), with where each
    sits in the text (so a finding can quote the copy as written)."""

    text: str
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, text: str) -> _Tokens:
        found = list(_TOKEN.finditer(text))
        words = tuple(re.sub(r"[,.'\u2019]", "", m.group(0)).casefold() for m in found)
        return cls(text, words, tuple(m.span() for m in found))

    def quote(self, start: int, end: int) -> str:
        return self.text[self.spans[start][0] : self.spans[end - 1][1]]


def _words(text: str) -> tuple[str, ...]:
    return _Tokens.of(text).words


def _shared_run(copy: _Tokens, source: Sequence[str], allowed: Sequence[str], length: int) -> str:
    """The longest run of at least ``length`` words ``copy`` shares with ``source`` (and
    not with the ``allowed`` texts), with two or more meaningful words, as the copy says
    it; "" when there is none."""
    if len(source) < length:
        return ""
    grams = {tuple(source[i : i + length]) for i in range(len(source) - length + 1)}
    grams -= {tuple(allowed[i : i + length]) for i in range(len(allowed) - length + 1)}
    grams = {g for g in grams if sum(w not in FILLER for w in g) >= 2}
    joined = f" {' '.join(source)} "
    words = copy.words
    best = ""
    for start in range(len(words) - length + 1):
        if tuple(words[start : start + length]) not in grams:
            continue
        end = start + length
        while end < len(words) and f" {' '.join(words[start : end + 1])} " in joined:
            end += 1
        run = copy.quote(start, end)
        best = run if len(run) > len(best) else best
    return best


_ACRONYM = re.compile(r"\b[A-Z]{2,5}s?\b")
#: The campaign metrics a brief's notes name in short ("CPA above 28"): for the team.
#: Other capitals ("IT managers", "UK") are ordinary words customers may read.
METRIC_TERMS = frozenset(
    {"CPA", "CPC", "CPM", "CPL", "CTR", "CVR", "ROAS", "ROI", "KPI", "CAC", "LTV", "AOV"}
    | {"MQL", "ICP", "SLA", "SOV"}
)


def _acronyms(text: str) -> set[str]:
    """The metric terms ``text`` uses."""
    found = {m.group(0) for m in _ACRONYM.finditer(text)}
    return {term.removesuffix("s") for term in found} & METRIC_TERMS


_NUMBER = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[,.]\d{3})+(?!\d)|\d+)(?:\.(\d+))?(?:\s?([kK])\b)?(-[A-Za-z])?"
)


def _numbers(text: str) -> set[Decimal]:
    return {value for value, _ in _figures_in(text)}


def _figures_in(text: str) -> list[tuple[Decimal, re.Match[str]]]:
    found = []
    for match in _NUMBER.finditer(text):
        whole, fraction, thousands, _ = match.groups()
        try:
            value = Decimal(re.sub(r"[,.]", "", whole) + (f".{fraction}" if fraction else ""))
        except InvalidOperation:  # pragma: no cover - the pattern only finds digits
            continue
        if thousands:
            value *= 1000
        found.append((value.normalize(), match))
    return found


def _internal_figures(notes: InternalNotes) -> Iterable[tuple[Decimal, str]]:
    """The figures copy must not state, each with where it comes from. Small numbers
    (under 10), years and numbers that name a product ("12-pack", "14-day") are left out:
    they say too little to be a target and too often appear in honest copy."""
    seen: set[Decimal] = set()
    for name, value in notes.figures:
        value = value.normalize()
        if value >= 10 and value not in seen:
            seen.add(value)
            yield value, f"{name} in the brief"
    for field, text in (
        ("objective", notes.objective),
        ("escalation criteria", notes.escalation_criteria),
    ):
        for value, match in _figures_in(text):
            if value < 10 or value in seen or match.group(4) or _is_year(value):
                continue
            seen.add(value)
            context = " ".join(text[match.start() :].split()[:3]).rstrip(".,;:")
            yield value, f"from the brief's {field} (“{context}”)"


def _is_year(value: Decimal) -> bool:
    return value == value.to_integral_value() and 1900 <= value <= 2100


def _show(value: Decimal) -> str:
    return f"{value:,f}" if value == value.to_integral_value() else f"{value:f}"


def _title_leaks(headline: str, body: str, title: str, allowed: Sequence[str]) -> bool:
    """The title opens the headline (two words or more), or labels any line ("Title:")."""
    title_words = _words(title)
    if not title_words or f" {' '.join(title_words)} " in f" {' '.join(allowed)} ":
        return False
    opens = _words(headline)[: len(title_words)] == title_words
    if opens and (len(title_words) >= 2 or _words(headline) == title_words):
        return True
    label = (
        r"(?<!\w)" + r"\W+".join(re.escape(w) for w in title.split()) + r"\s*[:|\u2013\u2014-]\s"
    )
    return re.search(label, f"{headline}\n{body}", flags=re.IGNORECASE) is not None
