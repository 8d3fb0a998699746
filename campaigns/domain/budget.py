"""Budget pacing, in pure Python: is spend keeping to the plan?

**The plan** spends the budget from the start of delivery to the end of the deadline
day, day by day as platforms pace a daily budget: following the audience's day (quiet at
night, busiest in the evening; :class:`AudienceDay`), so an hour at 4 am is not judged
against an hour at 9 pm. Over whole days it is the straight line.

**Warm-up.** Pacing is judged only once there is delivery to judge: from the first
delivery, plus ``warm_up`` of delivering (2 h by default). Before that the campaign is
*waiting for delivery* or *warming up*, never "underspending -100 %" — the market has
not delivered yet, and a launch must not stop itself over that (a launch that never
delivers is the delivery-start SLA's business, not pacing's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

#: How long delivery runs before pacing is judged (the brand may set its own).
DEFAULT_WARM_UP = timedelta(hours=2)


@dataclass(frozen=True)
class AudienceDay:
    """When in the day a budget is spent: a weight of ``1 + amplitude·cos(2π(h - peak)/24)``
    at local hour ``h``, averaging 1 over a day. The default (0.35x at 08:30, 1.65x at
    20:30) is an online audience's day, as ad platforms pace a daily budget."""

    amplitude: float = 0.65
    peak_hour: float = 20.5

    def __post_init__(self) -> None:
        # Below 1, every hour carries some plan, so the plan only ever grows.
        if not 0 <= self.amplitude < 1:
            raise ValueError("A day's amplitude is at least 0 and below 1.")

    def hours_weighted(self, at: datetime) -> float:
        """The day-weighted hours from the epoch to ``at`` (the integral of the weight):
        the difference between two instants is how much plan lies between them."""
        hours = at.timestamp() / 3600
        local = at.hour + at.minute / 60 + at.second / 3600 + at.microsecond / 3.6e9
        # TRICKY: the cosine is of the *local* hour; the straight part counts real hours
        # (a DST change moves the day's peak, it does not add or lose plan).
        wave = self.amplitude * 24 / (2 * math.pi)
        return hours + wave * math.sin(2 * math.pi * (local - self.peak_hour) / 24)


#: A flat day: the plain straight line (for tests and platforms that pace evenly).
FLAT_DAY = AudienceDay(amplitude=0.0)
AUDIENCE_DAY = AudienceDay()


class PaceStatus(StrEnum):
    NOT_STARTED = "not_started"
    WAITING = "waiting"
    WARMING_UP = "warming_up"
    ENDED = "ended"
    ON_PACE = "on_pace"
    UNDER = "under"
    OVER = "over"

    @property
    def label(self) -> str:
        return {
            "not_started": "Not launched",
            "waiting": "Waiting for delivery",
            "warming_up": "Warming up",
            "ended": "Ended",
            "on_pace": "On pace",
            "under": "Underspending",
            "over": "Overspending",
        }[self.value]

    @property
    def judged(self) -> bool:
        """Whether spend was judged against the plan (on pace, under or over)."""
        return self in (PaceStatus.ON_PACE, PaceStatus.UNDER, PaceStatus.OVER)


@dataclass(frozen=True)
class Pacing:
    status: PaceStatus
    planned: Decimal
    actual: Decimal
    deviation_pct: float | None  # actual vs planned, e.g. +18.0 means 18 % ahead of plan
    #: From when pacing is (or was) judged: the first delivery plus the warm-up.
    judged_from: datetime | None = None
    #: The plan is read up to here: now, or the latest delivery report if earlier.
    as_of: datetime | None = None


def planned_spend(
    total: Decimal,
    start: datetime,
    end: datetime,
    at: datetime,
    *,
    day: AudienceDay = AUDIENCE_DAY,
) -> Decimal:
    """What the plan has spent by ``at``, between 0 and ``total``: the budget spread
    from ``start`` to ``end`` following ``day``. Pass local times (the day's shape is
    in local hours)."""
    if at <= start:
        return Decimal("0")
    if at >= end or end <= start:
        return total
    done = day.hours_weighted(at) - day.hours_weighted(start)
    whole = day.hours_weighted(end) - day.hours_weighted(start)
    fraction = Decimal(repr(done / whole))
    return min(total, (total * fraction).quantize(Decimal("0.01")))


def pacing_judged_from(
    delivery_started_at: datetime | None, warm_up: timedelta = DEFAULT_WARM_UP
) -> datetime | None:
    """When pacing starts being judged: ``warm_up`` after the first delivery; None while
    nothing has been delivered."""
    return delivery_started_at + warm_up if delivery_started_at is not None else None


def pace(
    *,
    total: Decimal,
    consumed: Decimal,
    launched_at: datetime | None,
    delivery_started_at: datetime | None,
    end: datetime,
    at: datetime,
    tolerance_pct: float,
    warm_up: timedelta = DEFAULT_WARM_UP,
    ended: bool = False,
    day: AudienceDay = AUDIENCE_DAY,
    reported_until: datetime | None = None,
) -> Pacing:
    """Spend against the plan from the first delivery, once the warm-up is over. An ended
    campaign has no pace; one not delivering yet is waiting, one delivering for less than
    the warm-up is warming up (with the planned figure so far, but no verdict). Exactly
    at the tolerance is on pace.

    ``reported_until``: how far delivery has been reported. Spend is compared with the
    plan up to there, not up to now — platforms report hours late, and spend nobody has
    reported yet is not spend that did not happen."""
    if ended:
        return Pacing(PaceStatus.ENDED, total, consumed, None)
    if launched_at is None:
        return Pacing(PaceStatus.NOT_STARTED, Decimal("0"), consumed, None)
    judged_from = pacing_judged_from(delivery_started_at, warm_up)
    if delivery_started_at is None or judged_from is None:
        return Pacing(PaceStatus.WAITING, Decimal("0"), consumed, None)
    as_of = min(at, reported_until) if reported_until is not None else at
    planned = planned_spend(total, delivery_started_at, end, as_of, day=day)
    if at < judged_from:
        return Pacing(PaceStatus.WARMING_UP, planned, consumed, None, judged_from, as_of)
    if planned <= 0:
        deviation = 0.0 if consumed <= 0 else 100.0
    else:
        deviation = float((consumed - planned) / planned * 100)
    if deviation > tolerance_pct:
        status = PaceStatus.OVER
    elif deviation < -tolerance_pct:
        status = PaceStatus.UNDER
    else:
        status = PaceStatus.ON_PACE
    return Pacing(status, planned, consumed, round(deviation, 1), judged_from, as_of)
