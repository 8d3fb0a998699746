"""How a handoff is shown: parsed by its schema while the stored row still passes it
(a plan's steps, drafts), else generically, as data — every field a short plain string,
bounded whatever the payload holds.

Everything in a handoff came from a model or from uploaded data, so it is untrusted:
these views hand it on as plain strings and numbers for templates to escape, never as
markup.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from campaigns.domain.briefs import CHANNELS

from ..domain.handoffs import DraftsV1, HandoffInvalid, HandoffKind, PlanV1, validate_handoff
from ..models import Handoff, HandoffStatus
from .common import agent_label

logger = logging.getLogger(__name__)

#: Generic handoff rendering: how much of an unknown or rejected payload is shown.
_MAX_ENTRIES = 20
_MAX_ITEMS = 20
_MAX_TEXT = 500


@dataclass(frozen=True)
class PlanStepView:
    specialist: str
    goal: str
    expected_output: str
    needs_approval: bool

    @property
    def specialist_label(self) -> str:
        return agent_label(self.specialist)


def plan_steps(plan: PlanV1) -> tuple[PlanStepView, ...]:
    return tuple(
        PlanStepView(s.specialist, s.goal, s.expected_output, s.needs_approval) for s in plan.steps
    )


@dataclass(frozen=True)
class DraftView:
    channel: str
    channel_label: str
    headline: str
    body: str
    claims: tuple[str, ...]
    cites: tuple[str, ...]
    segment: str = ""
    #: Each citation as (ref, title, url) once resolved against the brand's memory (title
    #: and url empty when it names nothing there): see ``timeline.with_references``.
    cite_links: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Entry:
    """One top-level field of a handoff shown generically: a text, a list of texts, or
    a list of small records (each a tuple of (label, text) pairs)."""

    label: str
    text: str = ""
    items: tuple[str, ...] = ()
    records: tuple[tuple[tuple[str, str], ...], ...] = ()
    more: int = 0  # items or records left out


@dataclass(frozen=True)
class HandoffView:
    pk: int
    kind: str
    status: str
    schema_version: int | None
    created_at: datetime
    problems: tuple[str, ...]
    plan_steps: tuple[PlanStepView, ...] = ()
    plan_objective: str = ""
    plan_success_metric: str = ""
    drafts: tuple[DraftView, ...] = ()
    entries: tuple[Entry, ...] = ()
    picked_up_by: tuple[str, ...] = ()

    @property
    def rejected(self) -> bool:
        return self.status == HandoffStatus.REJECTED

    @property
    def is_plan(self) -> bool:
        return bool(self.plan_steps)

    @property
    def is_drafts(self) -> bool:
        return bool(self.drafts)


@dataclass(frozen=True)
class HandoffRef:
    """The handoff a run worked from."""

    pk: int
    kind: str
    status: str
    from_agent: str


def handoff_view(handoff: Handoff) -> HandoffView:
    base = {
        "pk": handoff.pk,
        "kind": handoff.kind,
        "status": handoff.status,
        "schema_version": handoff.schema_version,
        "created_at": handoff.created_at,
        "problems": tuple(str(p) for p in (handoff.problems or [])),
        "picked_up_by": tuple(run.agent for run in handoff.consumers.all()),
    }
    if handoff.status == HandoffStatus.ACCEPTED:
        if (
            handoff.kind == HandoffKind.PLAN
            and (plan := parsed_handoff(handoff, PlanV1)) is not None
        ):
            return HandoffView(
                **base,
                plan_steps=plan_steps(plan),
                plan_objective=plan.objective,
                plan_success_metric=plan.success_metric,
            )
        if handoff.kind == HandoffKind.DRAFTS and (drafts := parsed_handoff(handoff, DraftsV1)):
            return HandoffView(
                **base,
                drafts=tuple(
                    DraftView(
                        channel=v.channel,
                        channel_label=CHANNELS.get(v.channel, v.channel),
                        headline=v.headline,
                        body=v.body,
                        claims=tuple(v.claims),
                        cites=tuple(v.cites),
                        segment=v.segment,
                    )
                    for v in drafts.variants
                ),
            )
    return HandoffView(**base, entries=generic_entries(handoff.payload))


def parsed_handoff(handoff: Handoff, schema: type) -> Any:
    """The handoff parsed by its schema, or None if the stored row no longer passes it
    (it is then shown generically, as data)."""
    try:
        parsed = validate_handoff(handoff.kind, handoff.payload)
    except HandoffInvalid:
        logger.warning("Stored %s handoff %s no longer passes its schema", handoff.kind, handoff.pk)
        return None
    return parsed if isinstance(parsed, schema) else None


def generic_entries(payload: Any) -> tuple[Entry, ...]:
    """Any JSON as a definition list: one entry per top-level field (bookkeeping fields
    left out), nested values flattened to short text. Bounded, whatever it holds."""
    if not isinstance(payload, dict):
        payload = {"value": payload}
    entries = []
    for key, value in _items(payload):
        if key in ("schema_version", "campaign_id"):
            continue
        label = _label(str(key))
        if isinstance(value, list):
            if value and all(isinstance(v, dict) for v in value):
                records = tuple(entry_pairs(record) for record in value[:_MAX_ITEMS])
                entries.append(Entry(label, records=records, more=max(0, len(value) - _MAX_ITEMS)))
            else:
                items = tuple(_short(v, key=str(key)) for v in value[:_MAX_ITEMS])
                entries.append(Entry(label, items=items, more=max(0, len(value) - _MAX_ITEMS)))
        elif isinstance(value, dict):
            entries.append(Entry(label, records=(entry_pairs(value),)))
        else:
            entries.append(Entry(label, text=_short(value, key=str(key))))
        if len(entries) >= _MAX_ENTRIES:
            break
    return tuple(entries)


def entry_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """A JSON object's first fields as (label, short text) pairs; none for anything else."""
    return tuple((_label(str(k)), _short(v, key=str(k))) for k, v in _items(value)[:_MAX_ENTRIES])


def _items(value: Any) -> list[tuple[Any, Any]]:
    return list(value.items()) if isinstance(value, dict) else []


def _label(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()[:80] or "—"


#: Fields whose numbers are fractions of one, shown as people read them (17 %).
_FRACTION_WORDS = ("share", "rate", "probability", "confidence", "ctr", "cvr", "chance")


def _short(value: Any, *, key: str = "") -> str:
    """A value as a person reads it: fractions as percentages, long floats rounded, lists
    of words joined — never JSON punctuation when plain text says the same."""
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        text = _number(value, key=key)
    elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text = ", ".join(_short(v, key=key) for v in value)
    elif isinstance(value, dict) and all(isinstance(v, str | int | float) for v in value.values()):
        text = ", ".join(f"{k} {_short(v, key=key)}" for k, v in value.items())
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _number(value: float, *, key: str) -> str:
    fraction = any(word in key.lower() for word in _FRACTION_WORDS)
    if fraction and 0 <= value <= 1:
        percent = value * 100
        return f"{percent:.0f} %" if percent >= 1 or percent == 0 else f"{percent:.1f} %"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"
