"""SLA evaluation, in pure Python: numbers in, a verdict with the numbers behind it out.

Every SLA reads as *on track*, *at risk* or *breached* (``campaigns.models.SlaStatus``
values; a test holds them equal, this module does not import Django), with the display
strings the page shows and an error budget: how much failure, or time, the promise
still allows.

Four shapes of promise cover the blueprint's SLAs::

    time_to_event   draft within 2 h, response time, policy issue escalated in 10 min,
                    CPA above the control limit → people told at once
    rate_at_least   QA pass rate ≥ 95 %, completion rate
    rate_at_most    exception rate ≤ 10 % (how often people had to step in)
    within_band     budget pacing within ± 10 %

Boundaries (each side stated, each tested at the flip point):

* **Time** — on track below ``at_risk_fraction`` of the target; at risk from exactly
  that fraction (50 % by default) up to and *including* the target ("≤ 2 h": exactly
  2 h is still kept); breached only once strictly over it. Work done within the target
  is on track however close it came; done late is breached. TRICKY: this differs from
  ``approvals.domain.timers``, where exactly at the SLA is already overdue — a queue
  item is *due* at its SLA, whereas a promise "within 2 h" is *kept* at 2 h.
* **Rates** — judged only from ``min_sample`` events (exactly ``min_sample`` is judged;
  one fewer is "too few to judge"). A rate exactly at the target keeps the promise
  (95 % target: 19/20 = 95.0 % is not breached; 18/20 is). Short of a breach it is at
  risk when the error budget left is *below* ``at_risk_when_budget_left_below`` of what
  the target allows (exactly at the threshold is still on track). So 19/20 at 95 % is at
  risk — the one failure it allowed is used — and 20/20 is on track.
* **Band** — exactly at the tolerance is within it ("± 10 %": +10.0 % is not breached);
  at risk from exactly ``at_risk_fraction`` of the tolerance (±8 % of ±10 %). With
  nothing planned yet, nothing spent is on track ("no plan yet") and *any* spend is a
  breach: money went out before the plan says it may.

Comparisons are exact (``Fraction``/``Decimal``), never float, so 19/20 against 95 %
cannot land on the wrong side by a rounding error. TRICKY: displayed numbers are rounded
*towards the failing side* (a pass rate down, an exception rate up, a deviation away from
zero, elapsed time up to the minute), so a breached reading never shows a number that
looks like it kept the promise (94.97 % shows as "94.9 %", not "95.0 %").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from fractions import Fraction

from approvals.domain.timers import format_duration


class SlaState(StrEnum):
    """``campaigns.models.SlaStatus`` values."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {SlaState.ON_TRACK: 0, SlaState.AT_RISK: 1, SlaState.BREACHED: 2}

#: Every SLA kind and its label: ``monitoring.models.SlaKind`` (a test holds them equal).
SLA_KINDS: dict[str, str] = {
    "draft_time": "Draft within target time",
    "qa_pass_rate": "QA pass rate",
    "policy_escalation": "Policy issue escalated in time",
    "budget_pacing": "Budget pacing within range",
    "response_time": "Response time",
    "exception_rate": "Exception rate",
    "completion_rate": "Completion rate",
    "notify_time": "CPA above the control limit: people told at once",
    "delivery_start": "Delivery starts after launch",
}

#: ``ErrorBudget.unit`` for a time budget: ``allowed`` and ``used`` are seconds.
TIME = "time"


@dataclass(frozen=True)
class ErrorBudget:
    """How much failure (or time) a promise allows, and how much is used.

    ``unit`` names what is counted ("failures", "exceptions"), or is :data:`TIME`, in
    which case both numbers are seconds."""

    allowed: float
    used: float
    unit: str = "failures"

    @property
    def remaining(self) -> float:
        """What is left; negative once overspent."""
        return self.allowed - self.used

    @property
    def remaining_fraction(self) -> float:
        """The share left: 1.0 when nothing is used, 0 when exactly spent, negative when
        overspent. A budget that allows nothing is whole while nothing is used and -1.0
        (overspent; no finer measure exists) as soon as anything is."""
        if self.allowed <= 0:
            return 1.0 if self.used <= 0 else -1.0
        return self.remaining / self.allowed

    @property
    def label(self) -> str:
        """ "3 of 5 failures left", "budget spent (7 of 5)", "1 h 10 min of 2 h left"."""
        if self.unit == TIME:
            allowed = format_duration(timedelta(seconds=self.allowed))
            if self.remaining < 0:
                return f"budget spent ({_elapsed(timedelta(seconds=self.used))} of {allowed})"
            return f"{format_duration(timedelta(seconds=self.remaining))} of {allowed} left"
        if self.remaining < 0:
            return f"budget spent ({_count(self.used)} of {_count(self.allowed)})"
        noun = self.unit.removesuffix("s") if self.allowed == 1 else self.unit
        return f"{_count(self.remaining)} of {_count(self.allowed)} {noun} left"


@dataclass(frozen=True)
class SlaReading:
    """One SLA's verdict with the numbers behind it, as the page shows them."""

    kind: str  # an SLA_KINDS key
    status: SlaState
    measured: str  # "1 h 10 min", "96.0 %", "+8.6 %"
    target: str  # "≤ 2 h", "≥ 95 %", "± 10 %"
    detail: str  # one sentence for people: why this status
    error_budget: ErrorBudget | None
    value: float | None  # the measured number: seconds, a rate in %, a deviation in %
    #: Where the target comes from, for people ("the brief", "Northwind's monitoring
    #: settings"): an escalation names its criterion.
    criterion: str = ""

    @property
    def label(self) -> str:
        return SLA_KINDS[self.kind]


# ------------------------------------------------------------------------------ evaluators


def time_to_event(
    kind: str,
    *,
    started_at: datetime,
    done_at: datetime | None,
    now: datetime,
    target: timedelta,
    at_risk_fraction: float = 0.5,
) -> SlaReading:
    """A promise that something happens within ``target`` of ``started_at`` (see the
    module docstring for the boundaries). A clock that reads before the start (skew
    between workers) counts as no time elapsed."""
    _check_kind(kind)
    if target <= timedelta(0):
        raise ValueError("A time SLA needs a positive target.")
    _check_fraction(at_risk_fraction)
    elapsed = max((done_at or now) - started_at, timedelta(0))
    budget = ErrorBudget(target.total_seconds(), elapsed.total_seconds(), TIME)
    shown = _elapsed(elapsed)
    if done_at is not None:
        if elapsed <= target:
            status, detail = SlaState.ON_TRACK, f"Done in {shown}."
        else:
            status, detail = SlaState.BREACHED, f"Done {_elapsed(elapsed - target)} late."
    elif elapsed > target:
        status, detail = SlaState.BREACHED, f"Still running, {_elapsed(elapsed - target)} over."
    else:
        left = format_duration(target - elapsed)
        # Exact: timedelta * float rounds to the microsecond, far below any flip that matters.
        at_risk = elapsed >= target * at_risk_fraction
        status = SlaState.AT_RISK if at_risk else SlaState.ON_TRACK
        detail = f"Running for {shown}; {left} left."
    return SlaReading(
        kind=kind,
        status=status,
        measured=shown,
        target=f"≤ {format_duration(target)}",
        detail=detail,
        error_budget=budget,
        value=elapsed.total_seconds(),
    )


def rate_at_least(
    kind: str,
    *,
    good: int,
    total: int,
    target_pct: float,
    min_sample: int = 20,
    at_risk_when_budget_left_below: float = 0.25,
    unit: str = "failures",
) -> SlaReading:
    """A promise that at least ``target_pct`` % of events are good (QA pass rate). The
    error budget is the failures the target allows: (100 - target) % of ``total``."""
    _check_kind(kind)
    _check_counts(good, total)
    _check_pct(target_pct)
    _check_fraction(at_risk_when_budget_left_below)
    target = f"≥ {_count(target_pct)} %"
    early = _too_few(kind, total, min_sample, target, good)
    if early is not None:
        return early
    rate = Fraction(good, total) * 100
    allowed = (100 - _exact(target_pct)) * total / 100
    used = Fraction(total - good)
    if rate < _exact(target_pct):
        status = SlaState.BREACHED
    elif _budget_low(allowed, used, at_risk_when_budget_left_below):
        status = SlaState.AT_RISK
    else:
        status = SlaState.ON_TRACK
    return SlaReading(
        kind=kind,
        status=status,
        measured=_rate(rate, ROUND_FLOOR),
        target=target,
        detail=_rate_detail(status, total - good, total, unit),
        error_budget=ErrorBudget(float(allowed), float(used), unit),
        value=float(rate),
    )


def rate_at_most(
    kind: str,
    *,
    bad: int,
    total: int,
    max_pct: float,
    min_sample: int = 20,
    at_risk_when_budget_left_below: float = 0.25,
    unit: str = "exceptions",
) -> SlaReading:
    """A promise that at most ``max_pct`` % of events are bad (exception rate: how often
    people had to step in). The error budget is the bad events the limit allows:
    ``max_pct`` % of ``total``. The mirror of :func:`rate_at_least`."""
    _check_kind(kind)
    _check_counts(bad, total)
    _check_pct(max_pct)
    _check_fraction(at_risk_when_budget_left_below)
    target = f"≤ {_count(max_pct)} %"
    early = _too_few(kind, total, min_sample, target, bad)
    if early is not None:
        return early
    rate = Fraction(bad, total) * 100
    allowed = _exact(max_pct) * total / 100
    used = Fraction(bad)
    if rate > _exact(max_pct):
        status = SlaState.BREACHED
    elif _budget_low(allowed, used, at_risk_when_budget_left_below):
        status = SlaState.AT_RISK
    else:
        status = SlaState.ON_TRACK
    return SlaReading(
        kind=kind,
        status=status,
        measured=_rate(rate, ROUND_CEILING),
        target=target,
        detail=_rate_detail(status, bad, total, unit),
        error_budget=ErrorBudget(float(allowed), float(used), unit),
        value=float(rate),
    )


def within_band(
    kind: str,
    *,
    actual: Decimal | float,
    planned: Decimal | float,
    tolerance_pct: float,
    at_risk_fraction: float = 0.8,
) -> SlaReading:
    """A promise that ``actual`` stays within ± ``tolerance_pct`` % of ``planned``
    (budget pacing). No error budget: a band has no count of failures to spend."""
    _check_kind(kind)
    if tolerance_pct < 0:
        raise ValueError("A tolerance cannot be negative.")
    _check_fraction(at_risk_fraction)
    actual_d, planned_d = _decimal(actual), _decimal(planned)
    if planned_d < 0 or actual_d < 0:
        raise ValueError("Planned and actual amounts cannot be negative.")
    target = f"± {_count(tolerance_pct)} %"
    if planned_d == 0:
        # Spending before the plan says any may be spent is a breach, not "no data".
        if actual_d > 0:
            return SlaReading(
                kind, SlaState.BREACHED, "no plan", target,
                f"{actual_d:,.2f} spent before the plan starts.", None, None,
            )  # fmt: skip
        return SlaReading(kind, SlaState.ON_TRACK, "—", target, "No plan yet.", None, None)
    deviation = (actual_d - planned_d) / planned_d * 100
    tolerance = _decimal(tolerance_pct)
    if abs(deviation) > tolerance:
        status = SlaState.BREACHED
    elif abs(deviation) >= tolerance * _decimal(at_risk_fraction):
        status = SlaState.AT_RISK
    else:
        status = SlaState.ON_TRACK
    # Away from zero: "+10.1 %" for +10.004 %, never a breach that reads "+10.0 %".
    shown = abs(deviation).quantize(Decimal("0.1"), rounding=ROUND_CEILING)
    sign = "-" if deviation < 0 else "+"
    return SlaReading(
        kind=kind,
        status=status,
        measured=f"{sign}{shown} %",
        target=target,
        detail=f"{actual_d:,.2f} against {planned_d:,.2f} planned.",
        error_budget=None,
        value=float(deviation),
    )


def worst(readings: Iterable[SlaReading | str]) -> SlaState:
    """The worst status among ``readings`` (readings or status values): breached, then
    at risk, then on track — on track when there are none."""
    statuses = [SlaState(getattr(r, "status", r)) for r in readings]
    return max(statuses, key=_SEVERITY.__getitem__, default=SlaState.ON_TRACK)


# --------------------------------------------------------------------------------- helpers


def _too_few(
    kind: str, total: int, min_sample: int, target: str, counted: int
) -> SlaReading | None:
    """The reading for a sample too small to judge, or None when it may be judged."""
    if min_sample < 0:
        raise ValueError("A minimum sample cannot be negative.")
    if total >= min_sample and total > 0:
        return None
    rate = Fraction(counted, total) * 100 if total else None
    return SlaReading(
        kind=kind,
        status=SlaState.ON_TRACK,
        measured=_rate(rate, ROUND_FLOOR) if rate is not None else "—",
        target=target,
        detail=(
            f"Too few to judge ({total} of {min_sample})." if total < min_sample
            else "Nothing to judge yet."
        ),
        error_budget=None,
        value=float(rate) if rate is not None else None,
    )  # fmt: skip


def _rate_detail(status: SlaState, failed: int, total: int, unit: str) -> str:
    """ "2 failures in 20, more than the target allows." """
    counted = f"{failed} {unit.removesuffix('s') if failed == 1 else unit} in {total}"
    if status == SlaState.BREACHED:
        return f"{counted}, more than the target allows."
    if status == SlaState.AT_RISK:
        return f"{counted}, close to what the target allows."
    return f"{counted}."


def _budget_low(allowed: Fraction, used: Fraction, threshold: float) -> bool:
    """Is the share of the error budget left below ``threshold``? (exact arithmetic)"""
    if allowed <= 0:
        return used > 0
    return (allowed - used) / allowed < _exact(threshold)


def _elapsed(span: timedelta) -> str:
    """An elapsed time, rounded *up* to the minute (a breach never reads as on time)."""
    minutes = math.ceil(span.total_seconds() / 60)
    return format_duration(timedelta(minutes=minutes))


def _rate(rate: Fraction, rounding: str) -> str:
    value = Decimal(rate.numerator) / Decimal(rate.denominator)
    return f"{value.quantize(Decimal('0.1'), rounding=rounding)} %"


def _count(x: float) -> str:
    """5.0 → "5", 1.5 → "1.5", 0.30000000000000004 → "0.3", 1200000.0 → "1200000"."""
    return f"{x:.1f}".removesuffix(".0")


def _exact(x: float) -> Fraction:
    """A float as the decimal people typed (95.5 → 955/10, not its binary neighbour)."""
    return Fraction(_decimal(x))


def _decimal(x: Decimal | float) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(str(x))


def _check_kind(kind: str) -> None:
    if kind not in SLA_KINDS:
        raise ValueError(f"Unknown SLA kind “{kind}”.")


def _check_counts(part: int, total: int) -> None:
    if part < 0 or total < 0 or part > total:
        raise ValueError(f"Counts must satisfy 0 ≤ {part} ≤ {total}.")


def _check_pct(pct: float) -> None:
    if not 0 <= pct <= 100:
        raise ValueError(f"A percentage must be between 0 and 100, not {pct}.")


def _check_fraction(fraction: float) -> None:
    if not 0 <= fraction <= 1:
        raise ValueError(f"A fraction must be between 0 and 1, not {fraction}.")
