"""Autonomy is earned: recommending a policy step from an agent's track record, in pure Python.

For each agent and action type the system keeps a :class:`TrackRecord` over a window
(how often people approved its proposals unedited, how much they edited, what they
rejected, incidents, SLA adherence). :func:`review` turns (current mode, record, the
configured :class:`EarningRules`) into at most one :class:`Step` along :data:`LADDER`:

    recommend only  ⇄  needs approval  ⇄  act alone

- **Widening** is only ever a recommendation (``automatic=False``): it changes nothing
  until an admin accepts it through the approval queue, which writes a new policy
  version. Start bounded, prove it over several cycles, then widen — one step at a time.
- **Narrowing** is applied at once (``automatic=True``): an agent that causes an
  incident, burns an SLA error budget or is rejected too often is stepped down without
  waiting for anyone, with the reason recorded and shown. Trust is slow to earn and
  quick to lose, on purpose.
- ``Mode.FORBIDDEN`` is outside the ladder: only people put an action there or take it
  out, so nothing here ever widens or narrows it.

The caller (a service) stores ``Step.reasons`` and ``Step.evidence`` with the policy
version the step produces; :func:`progress` is the agents page's "how far from the next
step" checklist, built from the same criteria :func:`review` widens on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from governance.domain.actions import ActionType

from .policy import Mode

#: The modes autonomy moves along, from most to least bounded.
LADDER: tuple[Mode, ...] = (Mode.RECOMMEND_ONLY, Mode.NEEDS_APPROVAL, Mode.ACT_ALONE)

#: The SLAs that are each agent's own work (every agent answers for completion and for
#: how often people step in).
AGENT_SLAS: dict[str, tuple[str, ...]] = {
    "planner": ("response_time",),
    "content": ("draft_time", "qa_pass_rate", "policy_escalation"),
    "distribution": ("budget_pacing",),
    "performance": ("notify_time",),
}
SHARED_SLAS = ("completion_rate", "exception_rate")
#: Action types autonomy never moves: what agents may do to the policy itself.
UNEARNABLE = (ActionType.CHANGE_POLICY, ActionType.ADJUST_AUTONOMY)

Direction = Literal["widen", "narrow"]


def _require_int(name: str, value: object, *, minimum: int) -> None:
    # bool is an int to Python; a True threshold is a bug, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, not {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}.")


def _require_pct(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a percentage (0 to 100), not {value!r}.")
    if not 0 <= value <= 100:
        raise ValueError(f"{name} must be between 0 and 100, not {value}.")


@dataclass(frozen=True)
class TrackRecord:
    """What one agent did with one action type over the last ``window_days``.

    ``decided`` counts proposals a person decided or that ran alone; the outcome counts
    (``approved_unedited + approved_edited + rejected + acted_alone``) are parts of it
    and may not add up to more (they may add up to less: e.g. requests that expired).
    """

    action: ActionType
    decided: int
    approved_unedited: int
    approved_edited: int
    rejected: int  # rejected or sent back for changes
    median_edit_chars: float | None  # over the edited approvals; None when none were edited
    acted_alone: int  # ran without a person, as the policy allowed
    incidents: int  # escalations/flags the agent's actions caused
    sla_breaches: int
    error_budget_burned: bool  # an SLA of this agent used up its error budget
    cycles: int  # distinct campaigns (or weeks) the record spans
    window_days: int
    cycle_unit: str = "campaign"  # what a cycle is, for the sentences ("over 4 campaigns")

    def __post_init__(self) -> None:
        counts = (
            "decided",
            "approved_unedited",
            "approved_edited",
            "rejected",
            "acted_alone",
            "incidents",
            "sla_breaches",
            "cycles",
        )
        for name in counts:
            _require_int(name, getattr(self, name), minimum=0)
        _require_int("window_days", self.window_days, minimum=1)
        parts = self.approved_unedited + self.approved_edited + self.rejected + self.acted_alone
        if parts > self.decided:
            raise ValueError(
                f"The outcomes add up to {parts}, more than the {self.decided} decided: "
                "approved unedited, edited, rejected and acted alone are parts of decided."
            )
        if self.median_edit_chars is not None and self.median_edit_chars < 0:
            raise ValueError(
                f"median_edit_chars must be None or 0 or more, not {self.median_edit_chars}."
            )

    @property
    def unedited_rate(self) -> float | None:
        """Share (0 to 1) of decided proposals approved without an edit; None before any."""
        return None if self.decided == 0 else self.approved_unedited / self.decided

    @property
    def rejection_rate(self) -> float | None:
        """Share (0 to 1) of decided proposals rejected or sent back; None before any."""
        return None if self.decided == 0 else self.rejected / self.decided

    @property
    def summary(self) -> str:
        """One plain-English line with the numbers, for the agents page and the audit."""
        head = (
            f"{self.decided} decided in {_plural(self.window_days, 'day')} "
            f"over {_plural(self.cycles, self.cycle_unit)}"
        )
        if self.decided == 0:
            outcomes = "nothing yet"
        else:
            unedited_pct = _show_pct(_exact_pct(self.approved_unedited, self.decided))
            edited = f"{self.approved_edited} edited"
            if self.approved_edited and self.median_edit_chars is not None:
                edited += f" (median {_chars(self.median_edit_chars)} changed)"
            parts = [
                f"{self.approved_unedited} approved unedited ({unedited_pct})",
                edited,
                f"{self.rejected} rejected",
            ]
            if self.acted_alone:
                parts.append(f"{self.acted_alone} ran alone")
            outcomes = ", ".join(parts)
        incidents = "no incidents" if not self.incidents else _plural(self.incidents, "incident")
        return f"{head}: {outcomes}; {incidents}; {_sla_text(self)}"

    def as_json(self) -> dict[str, Any]:
        """The numbers as plain JSON (for storing with the policy version)."""
        data = asdict(self)
        data["action"] = self.action.value
        data["unedited_pct"] = _json_pct(self.approved_unedited, self.decided)
        data["rejected_pct"] = _json_pct(self.rejected, self.decided)
        return data


@dataclass(frozen=True)
class EarningRules:
    """The configured record an agent must show to earn a step, and lose one by.

    Percentages are 0 to 100. A widening needs every ``min_*``/``max_*`` criterion at once;
    stepping back without an incident needs a rejection rate of at least
    ``narrow_when_rejected_pct`` over at least ``min_decided_to_narrow`` decisions (so one
    unlucky rejection of a new agent's first proposal does not demote it).
    """

    min_decided: int = 20
    min_unedited_pct: float = 95.0
    max_rejected_pct: float = 2.0
    max_median_edit_chars: int = 40
    min_cycles: int = 3
    window_days: int = 30
    narrow_when_rejected_pct: float = 20.0
    min_decided_to_narrow: int = 10

    def __post_init__(self) -> None:
        _require_int("min_decided", self.min_decided, minimum=1)
        _require_pct("min_unedited_pct", self.min_unedited_pct)
        _require_pct("max_rejected_pct", self.max_rejected_pct)
        _require_int("max_median_edit_chars", self.max_median_edit_chars, minimum=0)
        _require_int("min_cycles", self.min_cycles, minimum=1)
        _require_int("window_days", self.window_days, minimum=1)
        _require_pct("narrow_when_rejected_pct", self.narrow_when_rejected_pct)
        _require_int("min_decided_to_narrow", self.min_decided_to_narrow, minimum=1)
        if self.narrow_when_rejected_pct <= self.max_rejected_pct:
            # Otherwise one record could earn a widening and a narrowing at once.
            raise ValueError(
                f"narrow_when_rejected_pct ({self.narrow_when_rejected_pct}) must be more than "
                f"max_rejected_pct ({self.max_rejected_pct})."
            )


@dataclass(frozen=True)
class Step:
    """One move along the ladder, with why."""

    action: ActionType
    from_mode: Mode
    to_mode: Mode
    direction: Direction
    automatic: bool  # narrowing is applied at once; a widening waits for an admin
    reasons: tuple[str, ...]  # sentences with their numbers
    evidence: dict[str, Any]  # the record's numbers (and the rules applied) as plain JSON


def next_mode(mode: Mode, direction: Direction) -> Mode | None:
    """The mode one step ``direction`` of ``mode`` on :data:`LADDER`; None past either end
    or off the ladder (forbidden)."""
    if mode not in LADDER:
        return None
    index = LADDER.index(mode) + (1 if direction == "widen" else -1)
    return LADDER[index] if 0 <= index < len(LADDER) else None


#: The configured record when none is given.
DEFAULT_RULES = EarningRules()


def review(mode: Mode, record: TrackRecord, rules: EarningRules = DEFAULT_RULES) -> Step | None:
    """The one autonomy decision for ``record`` at ``mode``: a step, or None.

    First matching row wins; never more than one step:

    ====  ===============================================  ================================
    row   when                                             result
    ====  ===============================================  ================================
    1     mode is forbidden (or otherwise off the ladder)  None — only people change it
    2     incidents > 0 or an SLA error budget burned      narrow one step, automatic;
                                                           None at recommend only
    3     decided ≥ min_decided_to_narrow and rejected     narrow one step, automatic;
          ≥ narrow_when_rejected_pct                       None at recommend only
    4     below act alone and every widening criterion     widen one step, automatic=False
          met: decided ≥ min_decided (in the window),      (an admin accepts it or not)
          unedited ≥ min_unedited_pct, rejected ≤
          max_rejected_pct, median edit ≤
          max_median_edit_chars (or no edits), cycles ≥
          min_cycles, no incidents, no SLA breaches
    5     anything else                                    None
    ====  ===============================================  ================================

    Rates are compared exactly (19 of 20 is 95 %, not 94.999…%).
    """
    if mode not in LADDER:
        return None

    window = f"in the last {_plural(record.window_days, 'day')}"
    if record.incidents or record.error_budget_burned:
        reasons = []
        if record.incidents:
            reasons.append(
                f"The agent's actions caused {_plural(record.incidents, 'incident')} {window}."
            )
        if record.error_budget_burned:
            reasons.append(f"An SLA of this agent used up its error budget {window}.")
        return _narrow(mode, record, rules, reasons)

    if record.decided >= rules.min_decided_to_narrow and _exact_pct(
        record.rejected, record.decided
    ) >= _exact(rules.narrow_when_rejected_pct):
        rate = _show_pct(_exact_pct(record.rejected, record.decided))
        reason = (
            f"{record.rejected} of {record.decided} proposals were rejected or sent back "
            f"{window} ({rate}); at {_show_pct(_exact(rules.narrow_when_rejected_pct))} or "
            f"more over at least {rules.min_decided_to_narrow} decisions the agent steps down."
        )
        return _narrow(mode, record, rules, [reason])

    to_mode = next_mode(mode, "widen")
    criteria = _criteria(record, rules)
    if to_mode is None or not all(c.met for c in criteria):
        return None
    return Step(
        action=record.action,
        from_mode=mode,
        to_mode=to_mode,
        direction="widen",
        automatic=False,
        reasons=tuple(c.detail for c in criteria),
        evidence=_evidence(record, rules),
    )


def progress(
    mode: Mode,
    record: TrackRecord,
    rules: EarningRules = DEFAULT_RULES,
) -> list[tuple[str, bool, str]]:
    """Each widening criterion as (label, met?, detail), for the agents page.

    Empty when there is no next step to earn (act alone, or forbidden). All met does not
    by itself mean :func:`review` widens: an incident or a high rejection rate narrows
    first, and an admin still decides.
    """
    if next_mode(mode, "widen") is None:
        return []
    return [(c.label, c.met, c.detail) for c in _criteria(record, rules)]


# --- internals --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Criterion:
    label: str
    met: bool
    detail: str  # a sentence with the numbers and what is needed


def _criteria(record: TrackRecord, rules: EarningRules) -> list[_Criterion]:
    decided = record.decided
    window = f"in the last {_plural(record.window_days, 'day')}"
    criteria = []

    # TRICKY: a record counted over a longer window than configured would let old
    # evidence earn a step; it counts for nothing until it is recounted.
    in_window = record.window_days <= rules.window_days
    if in_window:
        detail = f"{decided} decided {window}; needs at least {rules.min_decided}."
    else:
        detail = (
            f"{decided} decided over {_plural(record.window_days, 'day')}, but only the last "
            f"{_plural(rules.window_days, 'day')} count; needs at least {rules.min_decided}."
        )
    criteria.append(
        _Criterion("Enough decisions", in_window and decided >= rules.min_decided, detail)
    )

    need = _show_pct(_exact(rules.min_unedited_pct))
    if decided:
        pct = _exact_pct(record.approved_unedited, decided)
        threshold = _exact(rules.min_unedited_pct)
        detail = (
            f"{record.approved_unedited} of {decided} approved unedited "
            f"({_show_pct(pct, threshold)}); needs at least {need}."
        )
        criteria.append(_Criterion("Approved unedited", pct >= threshold, detail))
    else:
        detail = f"Nothing decided yet; needs at least {need} approved unedited."
        criteria.append(_Criterion("Approved unedited", False, detail))

    need = _show_pct(_exact(rules.max_rejected_pct))
    if decided:
        pct = _exact_pct(record.rejected, decided)
        threshold = _exact(rules.max_rejected_pct)
        detail = (
            f"{record.rejected} of {decided} rejected or sent back "
            f"({_show_pct(pct, threshold)}); needs at most {need}."
        )
        criteria.append(_Criterion("Rarely rejected", pct <= threshold, detail))
    else:
        detail = f"Nothing decided yet; needs at most {need} rejected."
        criteria.append(_Criterion("Rarely rejected", False, detail))

    limit = _chars(rules.max_median_edit_chars)
    if record.median_edit_chars is None:
        detail = f"No edits needed; edits may be at most {limit} (median)."
        criteria.append(_Criterion("Small edits", True, detail))
    else:
        median = record.median_edit_chars
        detail = f"Edits changed a median of {_chars(median)}; needs at most {limit}."
        criteria.append(_Criterion("Small edits", median <= rules.max_median_edit_chars, detail))

    detail = (
        f"Proven over {_plural(record.cycles, record.cycle_unit)}; "
        f"needs at least {rules.min_cycles}."
    )
    criteria.append(_Criterion("Several cycles", record.cycles >= rules.min_cycles, detail))

    if record.incidents:
        detail = f"{_plural(record.incidents, 'incident')} {window}; needs none."
    else:
        detail = f"No incidents {window}."
    criteria.append(_Criterion("No incidents", record.incidents == 0, detail))

    kept = record.sla_breaches == 0 and not record.error_budget_burned
    if kept:
        detail = f"SLAs kept {window}."
    else:
        text = _sla_text(record)
        detail = f"{text[0].upper()}{text[1:]} {window}; needs none."
    criteria.append(_Criterion("SLAs kept", kept, detail))
    return criteria


def _sla_text(record: TrackRecord) -> str:
    if not record.sla_breaches and not record.error_budget_burned:
        return "SLAs kept"
    parts = []
    if record.sla_breaches:
        parts.append(_plural(record.sla_breaches, "SLA breach", "SLA breaches"))
    if record.error_budget_burned:
        parts.append("error budget used up")
    return ", ".join(parts)


def _narrow(
    mode: Mode, record: TrackRecord, rules: EarningRules, reasons: list[str]
) -> Step | None:
    to_mode = next_mode(mode, "narrow")
    if to_mode is None:
        return None  # already as bounded as the ladder goes
    reasons.append(f"Stepped down from {_mode(mode)} to {_mode(to_mode)} at once.")
    return Step(
        action=record.action,
        from_mode=mode,
        to_mode=to_mode,
        direction="narrow",
        automatic=True,
        reasons=tuple(reasons),
        evidence=_evidence(record, rules),
    )


def _evidence(record: TrackRecord, rules: EarningRules) -> dict[str, Any]:
    # The rules go with the numbers: thresholds are configuration and change, and an
    # audit must show what the record was judged against.
    return {**record.as_json(), "summary": record.summary, "rules": asdict(rules)}


def _exact(value: float) -> Fraction:
    # TRICKY: via str, so a configured 94.9 is 949/10 and not the nearest binary float.
    return Fraction(Decimal(str(value)))


def _exact_pct(part: int, whole: int) -> Fraction:
    return Fraction(100 * part, whole)


def _show_pct(value: Fraction, threshold: Fraction | None = None) -> str:
    """'94.7 %', '95 %'; with more decimals when rounding would hide which side of
    ``threshold`` the value is on (1 of 49 is '2.04 %', not '2 %', against a 2 % limit)."""
    for places in (1, 2, 3):
        text = f"{float(value):.{places}f}"
        if threshold is None or value == threshold or Fraction(Decimal(text)) != threshold:
            break
    return f"{_trim(text)} %"


def _json_pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 2)


def _trim(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def _chars(count: float) -> str:
    return _plural(_trim(f"{count:.1f}"), "character")


def _plural(count: int | str, one: str, many: str | None = None) -> str:
    return f"{count} {one if str(count) == '1' else (many or one + 's')}"


def _mode(mode: Mode) -> str:
    return mode.value.replace("_", " ")
