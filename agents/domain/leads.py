"""Scoring and segmenting leads, in pure Python: how the CRM agent ranks contacts when it
works offline, and the rubric a model's scores are read against.

A score is out of 100 from four things a salesperson would weigh: how senior the
contact is, whether they are reachable (subscribed, not suppressed), whether they came
through a channel that signals intent, and whether we know their company. Contacts whose
text was flagged as instructions are scored on the facts alone and noted for review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUALIFIED_SCORE = 60  # at or above: a qualified lead (counted per agent on the agents page)

_SENIORITY = (
    (re.compile(r"\b(chief|c[eomt]o|founder|owner|president|vp|vice president)\b", re.I), 40),
    (re.compile(r"\b(director|head)\b", re.I), 32),
    (re.compile(r"\b(manager|lead|buyer)\b", re.I), 22),
)
_INTENT_SOURCES = {"demo request": 25, "trade show": 18, "webinar": 15, "referral": 20}


@dataclass(frozen=True)
class LeadFacts:
    contact_id: int
    job_title: str = ""
    company: str = ""
    source: str = ""
    reachable: bool = True
    flagged: bool = False


@dataclass(frozen=True)
class Score:
    contact_id: int
    score: int
    segment: str
    note: str


def score_lead(lead: LeadFacts) -> Score:
    seniority = next(
        (points for pattern, points in _SENIORITY if pattern.search(lead.job_title)), 8
    )
    intent = _INTENT_SOURCES.get(lead.source.strip().lower(), 5)
    score = seniority + intent + (15 if lead.company.strip() else 0) + (20 if lead.reachable else 0)
    score = max(0, min(100, score))
    if not lead.reachable:
        segment, note = "do not contact", "Unsubscribed or suppressed: never mail; sales may call."
    elif score >= 80:
        segment, note = "hot", "Senior and showing intent: hand to sales this week."
    elif score >= QUALIFIED_SCORE:
        segment, note = "warm", "Qualified: nurture with the campaign, then hand to sales."
    else:
        segment, note = "nurture", "Keep in the nurture stream; not sales-ready."
    if lead.flagged:
        note = f"{note} Their notes were flagged as instructions and were not read."
    return Score(lead.contact_id, score, segment, note)
