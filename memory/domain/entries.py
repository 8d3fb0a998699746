"""Brand-memory entries, in pure Python: what a fact may say and what evidence it carries.

A brand's memory is a set of small facts (a voice rule, a segment, a prohibited phrase, an
angle that worked…), each with a stable reference agents cite (``M12``). The page, the
agents' proposals (through the delegation-policy gate) and the demo all validate through
:func:`validate_entry`, so a bad fact gets the same clear message wherever it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from campaigns.domain.briefs import normalise_claim

#: The kinds of fact, in the order the memory page and agents read them.
KINDS: dict[str, str] = {
    "voice_rule": "Voice rule",
    "segment": "Audience segment",
    "prohibited_claim": "Prohibited claim",
    "prohibited_phrase": "Prohibited phrase",
    "working_angle": "Phrase or angle that works",
    "failure_mode": "Failure mode",
    "performance_note": "Performance history",
}

#: Kinds whose text is matched word for word against drafts: one short line each.
MATCHED_KINDS = frozenset({"prohibited_claim", "prohibited_phrase"})
#: Kinds that are only worth remembering with evidence of how they did.
EVIDENCED_KINDS = frozenset({"working_angle"})

TEXT_MIN = 3
TEXT_MAX = 1000
MATCHED_TEXT_MAX = 200
NOTE_MAX = 300
EVIDENCE_NOTE_MAX = 500
LINK_MAX = 500
MAX_SAMPLE_SIZE = 1_000_000_000

#: What structured evidence may hold. Anything else is refused, so agents cannot smuggle
#: free-form data into memory.
EVIDENCE_KEYS = ("lift_pct", "sample_size", "campaign_id", "link", "note")

ENTRY_REF = re.compile(r"^M(\d{1,12})$")


@dataclass(frozen=True)
class EntrySpec:
    """One fact as plain values (the form, an agent's payload and the demo all make one)."""

    kind: str
    text: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


def clean_text(text: str) -> str:
    """Runs of spaces and tabs fold to one; line breaks stay (a segment may need several)."""
    lines = [" ".join(line.split()) for line in (text or "").strip().splitlines()]
    return "\n".join(line for line in lines if line)


def clean_evidence(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """Evidence without empty values (a form leaves blanks), strings trimmed."""
    cleaned: dict[str, Any] = {}
    for key, value in evidence.items():
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            continue
        cleaned[key] = value
    return cleaned


def validate_entry(spec: EntrySpec) -> dict[str, list[str]]:
    """Every problem with ``spec``, as ``{field: [message, ...]}``; empty when it is valid.
    Expects :func:`clean_text` and :func:`clean_evidence` to have been applied."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if spec.kind not in KINDS:
        add("kind", f"Unknown kind “{spec.kind}”; choose from: {', '.join(KINDS)}.")

    text = spec.text
    limit = MATCHED_TEXT_MAX if spec.kind in MATCHED_KINDS else TEXT_MAX
    if len(text) < TEXT_MIN:
        add("text", f"Write the fact out: at least {TEXT_MIN} characters.")
    elif len(text) > limit:
        add("text", f"Keep it to {limit} characters (this has {len(text)}).")
    if spec.kind in MATCHED_KINDS and "\n" in text:
        add("text", f"A {KINDS[spec.kind].lower()} is one line: drafts are matched against it.")

    for name, messages in validate_evidence(spec.evidence).items():
        for message in messages:
            add(name, message)
    evidenced = isinstance(spec.evidence, Mapping) and any(
        key in spec.evidence for key in ("lift_pct", "sample_size", "link", "note")
    )
    if spec.kind in EVIDENCED_KINDS and not evidenced:
        add(
            "evidence",
            "Say why it works: a lift with its sample size, a link, or a note on the evidence.",
        )
    return errors


def validate_evidence(evidence: Mapping[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not isinstance(evidence, Mapping):
        return {"evidence": ["Evidence must be a set of named values (lift_pct, sample_size…)."]}
    unknown = sorted(str(k) for k in evidence if k not in EVIDENCE_KEYS)
    if unknown:
        add(
            "evidence",
            f"Unknown evidence {', '.join(unknown)}; use only: {', '.join(EVIDENCE_KEYS)}.",
        )

    lift = evidence.get("lift_pct")
    if lift is not None and (not _is_number(lift) or not -100 <= float(lift) <= 1000):
        add("lift_pct", "The lift is a percentage between -100 and 1000.")
    size = evidence.get("sample_size")
    if size is not None and (not _is_int(size) or not 1 <= size <= MAX_SAMPLE_SIZE):
        add("sample_size", "The sample size is a whole number of at least 1.")
    if (lift is None) != (size is None):
        add(
            "sample_size" if size is None else "lift_pct",
            "A lift means little without its sample size: give both, or neither.",
        )
    campaign = evidence.get("campaign_id")
    if campaign is not None and (not _is_int(campaign) or campaign < 1):
        add("campaign_id", "The campaign is given by its number.")
    link = evidence.get("link")
    if link is not None and not is_web_link(link):
        add("link", "The link must be a web address starting with http:// or https://.")
    note = evidence.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > EVIDENCE_NOTE_MAX):
        add("note", f"The evidence note is text of at most {EVIDENCE_NOTE_MAX} characters.")
    return errors


def validate_change_note(note: str, *, required: bool) -> list[str]:
    if required and len(note.strip()) < TEXT_MIN:
        return ["Say what changed and why: a change note is required."]
    if len(note.strip()) > NOTE_MAX:
        return [f"Keep the change note to {NOTE_MAX} characters."]
    return []


def is_web_link(value: object) -> bool:
    if not isinstance(value, str) or len(value) > LINK_MAX or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def evidence_summary(evidence: Mapping[str, Any], *, limit: int = 160) -> str:
    """Evidence as one short line, e.g. ``+12.5% lift, n=4,800, campaign #3: subject test``."""
    parts = []
    if "lift_pct" in evidence:
        lift = float(evidence["lift_pct"])
        parts.append(f"{lift:+g}% lift")
    if "sample_size" in evidence:
        parts.append(f"n={int(evidence['sample_size']):,}")
    if "campaign_id" in evidence:
        parts.append(f"campaign #{evidence['campaign_id']}")
    if "link" in evidence:
        parts.append(str(evidence["link"]))
    summary = ", ".join(parts)
    if evidence.get("note"):
        summary = f"{summary}: {evidence['note']}" if summary else str(evidence["note"])
    return summary if len(summary) <= limit else summary[: limit - 1].rstrip() + "…"


def same_fact(a: str, b: str) -> bool:
    """Two texts say the same thing if they differ only in case, spacing or end punctuation."""
    return normalise_claim(a) == normalise_claim(b)


def entry_ref(pk: int) -> str:
    return f"M{pk}"


def parse_entry_ref(ref: object) -> int | None:
    """The entry id in a reference like ``M12``; None when it is not one."""
    match = ENTRY_REF.match(ref.strip()) if isinstance(ref, str) else None
    return int(match.group(1)) if match else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- Changes agents propose (through the delegation-policy gate) -------------------------

OPERATIONS = ("create", "revise", "retire")


class ChangeInvalid(ValueError):
    """An agent's proposed memory change that cannot be carried out; says what is wrong."""


@dataclass(frozen=True)
class MemoryChange:
    """An agent's proposed change to brand memory, parsed from the gate's payload:

    - ``{"operation": "create", "kind": …, "text": …, "evidence": {…}, "reason": …}``
    - ``{"operation": "revise", "entry": "M12", "text": …, "evidence": {…}, "reason": …,
      "based_on_version": 3}`` (evidence left out keeps the current evidence)
    - ``{"operation": "retire", "entry": "M12", "reason": …, "based_on_version": 3}``
    """

    operation: str
    reason: str
    kind: str = ""
    text: str = ""
    evidence: Mapping[str, Any] | None = None
    entry_id: int | None = None
    based_on_version: int | None = None


def parse_memory_change(payload: Mapping[str, Any]) -> MemoryChange:
    operation = payload.get("operation")
    if operation not in OPERATIONS:
        raise ChangeInvalid(
            f"Unknown memory operation “{operation}”; choose from: {', '.join(OPERATIONS)}."
        )
    reason = payload.get("reason")
    if not isinstance(reason, str) or validate_change_note(reason, required=True):
        raise ChangeInvalid(
            f"A memory change must say why: a “reason” of {TEXT_MIN} to {NOTE_MAX} characters."
        )
    entry_id = None
    if operation != "create":
        entry_id = parse_entry_ref(payload.get("entry"))
        if entry_id is None:
            raise ChangeInvalid("Name the entry to change by its reference, e.g. “M12”.")
    version = payload.get("based_on_version")
    if version is not None and (not _is_int(version) or version < 1):
        raise ChangeInvalid(
            "“based_on_version” is the entry's version number the change builds on."
        )
    if operation == "retire":
        return MemoryChange(operation, reason.strip(), entry_id=entry_id, based_on_version=version)

    text = payload.get("text")
    if not isinstance(text, str):
        raise ChangeInvalid("The entry needs its “text”.")
    evidence = payload.get("evidence")
    if evidence is not None and not isinstance(evidence, Mapping):
        raise ChangeInvalid("“evidence” must be a set of named values (lift_pct, sample_size…).")
    kind = payload.get("kind", "") if operation == "create" else ""
    if operation == "create":
        if not isinstance(kind, str):
            raise ChangeInvalid(f"Unknown kind “{kind}”; choose from: {', '.join(KINDS)}.")
        spec = EntrySpec(kind, clean_text(text), clean_evidence(evidence or {}))
        problems = validate_entry(spec)
    else:
        # The entry's kind is known once it is read; the service checks the rest then.
        spec = EntrySpec("", clean_text(text), clean_evidence(evidence or {}))
        problems = {k: v for k, v in validate_entry(spec).items() if k != "kind"}
    if problems:
        raise ChangeInvalid(" ".join(m for messages in problems.values() for m in messages))
    return MemoryChange(
        operation,
        reason.strip(),
        kind=spec.kind,
        text=spec.text,
        evidence=None if evidence is None else spec.evidence,
        entry_id=entry_id,
        based_on_version=version,
    )
