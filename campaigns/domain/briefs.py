"""Brief rules, in pure Python: what makes a brief one the agents can run.

The web form, the API and CSV imports all validate through :func:`validate_brief`, so a
bad brief gets the same clear message wherever it comes from.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .inputs import text_problem as characters_problem

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
class Limit:
    """How much one field of a brief may hold: ``chars`` per text (per item, for a
    list) and, for a list, at most ``items`` of them."""

    chars: int
    items: int | None = None


#: Every text and list of a brief is bounded, here and only here: the form's fields,
#: the API's serializer and :func:`validate_brief` all take their numbers from it. A
#: brief is read by people and agents and sent to a model whole, so nothing in it may
#: be unbounded (issue 13: a brief with 100,000 channels was accepted, 900 kB).
LIMITS: dict[str, Limit] = {
    "title": Limit(chars=200),
    "objective": Limit(chars=5000),
    "audience": Limit(chars=5000),
    "tone": Limit(chars=200),
    "offer": Limit(chars=2000),
    "escalation_criteria": Limit(chars=2000),
    "assets": Limit(chars=200, items=50),
    "required_claims": Limit(chars=300, items=50),
    "prohibited_claims": Limit(chars=300, items=50),
    # Each known channel at most once.
    "channels": Limit(chars=max(map(len, CHANNELS)), items=len(CHANNELS)),
}

#: How far ahead a deadline may be: a campaign is planned within two years. Beyond
#: that (9999-12-31) it is a typo or a placeholder, and the pacing of its budget (spread
#: over the days to the deadline) would be nonsense.
MAX_DEADLINE_DAYS = 730

#: A brief's service levels, (least, most) each: the form, the API and
#: :func:`validate_brief` take them from here.
SLA_BOUNDS: dict[str, tuple[int, int]] = {
    "sla_draft_hours": (1, 720),  # a draft within 30 days at most
    "sla_qa_pass_pct": (1, 100),
    "sla_policy_escalation_minutes": (1, 10_080),  # a week at most
    "sla_pacing_tolerance_pct": (1, 100),
}

#: What a success target reads as, per metric, when it has a natural ceiling.
PERCENT_METRICS = ("ctr",)
COUNTED_METRICS = ("conversions", "qualified_leads")
#: Above this a target is a typo whatever the metric (and more than the database holds).
MAX_SUCCESS_TARGET = Decimal(1_000_000_000)
#: A return on ad spend beyond this many times the spend is not a plan.
MAX_ROAS = 100

#: The lists among them.
LIST_FIELDS: tuple[str, ...] = tuple(name for name, limit in LIMITS.items() if limit.items)


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


def _named(field: str) -> str:
    return field.replace("_", " ")


def _shown(value: object, limit: int = 40) -> str:
    """A value quoted back in a message, cut short: an error never echoes a megabyte."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_problem(field: str, text: str) -> str | None:
    """Why ``text`` is too long for ``field`` (see ``LIMITS``), or ``None``."""
    limit = LIMITS[field].chars
    if len(text) <= limit:
        return None
    return f"The {_named(field)} is {len(text):,} characters long; keep it to {limit:,} at most."


def count_problem(field: str, count: int) -> str | None:
    """Why ``count`` items are too many for the list ``field``, or ``None`` — asked
    before the items are read, so a huge list is refused in one line."""
    most = LIMITS[field].items
    if most is None or count <= most:
        return None
    return f"At most {most:,} {_named(field)}; this brief has {count:,}."


def list_problems(field: str, items: Sequence[object]) -> list[str]:
    """What is wrong with the list ``field`` as a whole: too many items, or items too
    long (one message for all of them, naming the first)."""
    problems = [p for p in [count_problem(field, len(items))] if p]
    limit = LIMITS[field].chars
    long = [i for i, item in enumerate(items, 1) if isinstance(item, str) and len(item) > limit]
    if long:
        first = long[0]
        size = len(str(items[first - 1]))
        which = f"#{first} has {size:,}"
        if len(long) > 1:
            which = f"{len(long):,} are longer (the first, #{first}, has {size:,})"
        problems.append(
            f"Each of the {_named(field)} may be at most {limit:,} characters; {which}."
        )
    return problems


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

    latest = today + timedelta(days=MAX_DEADLINE_DAYS)
    if draft.deadline is None:
        add("deadline", "Give the campaign a deadline.")
    elif draft.deadline < today:
        add(
            "deadline",
            f"The deadline {draft.deadline.isoformat()} is in the past; "
            "choose today or a later date.",
        )
    elif draft.deadline > latest:
        add(
            "deadline",
            f"The deadline {draft.deadline.isoformat()} is more than two years ahead; "
            f"choose a date up to {latest.isoformat()}.",
        )

    if not draft.success_metric:
        add("success_metric", "Choose the success metric the campaign will be judged by.")
    elif draft.success_metric not in SUCCESS_METRICS:
        add("success_metric", f"Unknown success metric “{draft.success_metric}”.")

    for field, limit in LIMITS.items():
        value = getattr(draft, field)
        problems: list[str | None]
        if field == "channels":  # each one is checked against the known channels below
            problems = [count_problem(field, len(value))]
        elif limit.items is None:
            problems = [text_problem(field, value)]
        else:
            problems = list(list_problems(field, value))
        for problem in problems:
            if problem:
                add(field, problem)

    # Control characters and direction overrides: refused wherever people read the text.
    for field in ("title", "tone"):
        if problem := characters_problem(getattr(draft, field)):
            add(field, problem)
    for field in ("objective", "audience", "offer", "escalation_criteria"):
        if problem := characters_problem(getattr(draft, field), multiline=True):
            add(field, problem)
    for field in ("assets", "required_claims", "prohibited_claims"):
        found = next(
            (p for item in getattr(draft, field) if (p := characters_problem(str(item)))), ""
        )
        if found:
            add(field, found)

    for problem in _target_problems(draft):
        add("success_target", problem)

    for field, (least, most) in SLA_BOUNDS.items():
        value = getattr(draft, field)
        if value is None or not least <= value <= most:
            add(field, f"Enter a whole number from {least:,} to {most:,}.")

    if not draft.channels:
        add("channels", "Choose at least one channel.")
    # Each unknown channel named once, and only the first few: a list of 100,000 gets
    # one short answer, not 100,000 lines.
    unknown = list(dict.fromkeys(c for c in draft.channels if c not in CHANNELS))
    for channel in unknown[:3]:
        add(
            "channels",
            f"Unknown channel “{_shown(channel)}”; choose from: {', '.join(CHANNELS)}.",
        )
    if len(unknown) > 3:
        add("channels", f"…and {len(unknown) - 3:,} more unknown channels.")
    repeated = [c for c, n in Counter(draft.channels).items() if n > 1 and c in CHANNELS]
    if repeated:
        add(
            "channels",
            "Name each channel once: "
            + ", ".join(f"“{c}”" for c in repeated)
            + (" is" if len(repeated) == 1 else " are")
            + " listed more than once.",
        )

    for claim in conflicting_claims(draft.required_claims, draft.prohibited_claims):
        add(
            "prohibited_claims",
            f"“{claim}” is both required and prohibited; a claim can only be one of the two.",
        )
    return errors


def _target_problems(draft: BriefSpec) -> list[str]:
    """What is absurd about the success target for its metric (none when it is empty)."""
    target, metric = draft.success_target, draft.success_metric
    if target is None:
        return []
    if target <= 0:
        return ["A success target is more than zero (or left empty)."]
    if target > MAX_SUCCESS_TARGET:
        return [
            f"A target of {target:,.2f} is implausibly large (the limit is "
            f"{MAX_SUCCESS_TARGET:,}); check it for a typo."
        ]
    if metric in PERCENT_METRICS and target > 100:
        return [f"A {SUCCESS_METRICS[metric].lower()} is a percentage: at most 100."]
    if metric in COUNTED_METRICS and target != target.to_integral_value():
        return [f"{SUCCESS_METRICS[metric]} are counted: enter a whole number."]
    if metric == "roas" and target > MAX_ROAS:
        return [
            f"A return on ad spend of {target:,.2f} times the spend is not a plan "
            f"(at most {MAX_ROAS}); check it for a typo."
        ]
    if metric == "cpa" and draft.budget is not None and 0 < draft.budget < target:
        return [
            f"A cost per acquisition of {target:,.2f} is more than the whole budget "
            f"({draft.budget:,.2f}): not one acquisition would meet it."
        ]
    return []
