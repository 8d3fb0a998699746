"""Lead scores the CRM agent hands back, checked in pure Python before anything is saved.

What an agent writes is untrusted like what it reads: a handoff note that reads as
instructions (it would reach salespeople and, later, other agents) is refused, not
stored with a warning — the agent must write it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from governance.domain.untrusted import injection_findings

SEGMENT_MAX_CHARS = 100
HANDOFF_NOTE_MAX_CHARS = 2000


@dataclass(frozen=True)
class ContactScore:
    """One contact's score (0 to 100), segment and sales-handoff note."""

    contact_id: int
    score: int
    segment: str = ""
    handoff_note: str = ""


def score_problems(scores: Sequence[ContactScore]) -> list[str]:
    """Everything wrong with a batch of scores; empty when it may be recorded."""
    if not scores:
        return ["There are no scores to record."]
    problems: list[str] = []
    seen: set[int] = set()
    for s in scores:
        who = f"Contact {s.contact_id}"
        if s.contact_id in seen:
            problems.append(f"{who} is scored twice in one batch.")
        seen.add(s.contact_id)
        # bool is an int in Python; a True score is a bug upstream, not 1 point.
        if isinstance(s.score, bool) or not isinstance(s.score, int) or not 0 <= s.score <= 100:
            problems.append(f"{who}: the score must be a whole number from 0 to 100.")
        if len(s.segment) > SEGMENT_MAX_CHARS:
            problems.append(f"{who}: the segment is longer than {SEGMENT_MAX_CHARS} characters.")
        if len(s.handoff_note) > HANDOFF_NOTE_MAX_CHARS:
            problems.append(
                f"{who}: the handoff note is longer than {HANDOFF_NOTE_MAX_CHARS:,} characters."
            )
        for text, what in ((s.segment, "segment"), (s.handoff_note, "handoff note")):
            for finding in injection_findings(text):
                problems.append(f"{who}: the {what} {finding}.")
    return problems
