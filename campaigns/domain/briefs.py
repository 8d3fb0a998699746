"""Brief rules, in pure Python: what makes a brief one the agents can run.

The web form, the API and CSV imports all validate through :func:`validate_brief`, so a
bad brief gets the same clear message wherever it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

#: Channels the agents can plan for; connectors map onto these.
CHANNELS: dict[str, str] = {
    "email": "Email",
    "search_ads": "Search ads",
    "social_ads": "Paid social",
    "display": "Display ads",
    "social_organic": "Organic social",
    "landing_page": "Landing page",
}

#: The channels' codes (what the API's schema enumerates).
CHANNEL_CODES: tuple[str, ...] = tuple(CHANNELS)

#: Metrics a campaign can be judged by.
SUCCESS_METRICS: dict[str, str] = {
    "cpa": "Cost per acquisition",
    "conversions": "Conversions",
    "qualified_leads": "Qualified leads",
    "ctr": "Click-through rate",
    "roas": "Return on ad spend",
    "revenue": "Revenue",
}


@dataclass(frozen=True)
class BriefSpec:
    """Everything a brief says, as plain values (the form, API and CSV all produce one)."""

    title: str
    objective: str
    budget: Decimal | None
    deadline: date | None
    success_metric: str
    channels: Sequence[str] = ()
    required_claims: Sequence[str] = ()
    prohibited_claims: Sequence[str] = ()
    audience: str = ""
    tone: str = ""
    assets: Sequence[str] = ()
    offer: str = ""
    success_target: Decimal | None = None
    daily_cap: Decimal | None = None
    escalation_criteria: str = ""
    sla_draft_hours: int = 2
    sla_qa_pass_pct: int = 95
    sla_policy_escalation_minutes: int = 10
    sla_pacing_tolerance_pct: int = 10


def split_lines(text: str) -> list[str]:
    """One item per line, trimmed, blanks and exact repeats dropped, order kept."""
    seen: set[str] = set()
    items = []
    for line in text.splitlines():
        item = " ".join(line.split())
        if item and item not in seen:
            seen.add(item)
            items.append(item)
    return items


def normalise_claim(claim: str) -> str:
    """Claims compare without case, spacing or trailing punctuation."""
    return re.sub(r"[\s.!]+$", "", " ".join(claim.split())).casefold()


def conflicting_claims(required: Iterable[str], prohibited: Iterable[str]) -> list[str]:
    """Required claims that are also prohibited, in the wording they were required."""
    banned = {normalise_claim(c) for c in prohibited}
    return [c for c in required if normalise_claim(c) in banned]


def validate_brief(draft: BriefSpec, *, today: date, max_budget: int) -> dict[str, list[str]]:
    """Every problem with ``draft``, as ``{field: [message, ...]}``; empty when it is valid."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if draft.budget is None:
        add("budget", "Give the campaign a budget.")
    elif draft.budget <= 0:
        add("budget", "The budget must be more than zero.")
    elif draft.budget > max_budget:
        add(
            "budget",
            f"A budget of {draft.budget:,.2f} is implausibly large (the limit is "
            f"{max_budget:,}); check it for a typo.",
        )

    if draft.daily_cap is not None:
        if draft.daily_cap <= 0:
            add("daily_cap", "A daily cap must be more than zero (or left empty).")
        elif draft.budget is not None and draft.daily_cap > draft.budget:
            add("daily_cap", "The daily cap cannot be more than the whole budget.")

    if draft.deadline is None:
        add("deadline", "Give the campaign a deadline.")
    elif draft.deadline < today:
        add(
            "deadline",
            f"The deadline {draft.deadline.isoformat()} is in the past; "
            "choose today or a later date.",
        )

    if not draft.success_metric:
        add("success_metric", "Choose the success metric the campaign will be judged by.")
    elif draft.success_metric not in SUCCESS_METRICS:
        add("success_metric", f"Unknown success metric “{draft.success_metric}”.")

    if not draft.channels:
        add("channels", "Choose at least one channel.")
    for channel in draft.channels:
        if channel not in CHANNELS:
            add(
                "channels",
                f"Unknown channel “{channel}”; choose from: {', '.join(CHANNELS)}.",
            )

    for claim in conflicting_claims(draft.required_claims, draft.prohibited_claims):
        add(
            "prohibited_claims",
            f"“{claim}” is both required and prohibited; a claim can only be one of the two.",
        )
    return errors
