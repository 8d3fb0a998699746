"""Budget pacing, in pure Python: is spend keeping to a straight-line plan?

The plan spends the budget evenly from launch to the end of the deadline day. Pacing
compares what was spent with what the plan says by now, within the brief's tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class PaceStatus(StrEnum):
    NOT_STARTED = "not_started"
    ENDED = "ended"
    ON_PACE = "on_pace"
    UNDER = "under"
    OVER = "over"

    @property
    def label(self) -> str:
        return {
            "not_started": "Not launched",
            "ended": "Ended",
            "on_pace": "On pace",
            "under": "Underspending",
            "over": "Overspending",
        }[self.value]


@dataclass(frozen=True)
class Pacing:
    status: PaceStatus
    planned: Decimal
    actual: Decimal
    deviation_pct: float | None  # actual vs planned, e.g. +18.0 means 18 % ahead of plan


def planned_spend(total: Decimal, start: datetime, end: datetime, at: datetime) -> Decimal:
    """What a straight-line plan has spent by ``at``, between 0 and ``total``."""
    if at <= start:
        return Decimal("0")
    if at >= end or end <= start:
        return total
    fraction = Decimal((at - start).total_seconds()) / Decimal((end - start).total_seconds())
    return (total * fraction).quantize(Decimal("0.01"))


def pace(
    *,
    total: Decimal,
    consumed: Decimal,
    start: datetime | None,
    end: datetime,
    at: datetime,
    tolerance_pct: int,
    ended: bool = False,
) -> Pacing:
    """Spend against the straight-line plan. A campaign that has ended has no pace."""
    if ended:
        return Pacing(PaceStatus.ENDED, total, consumed, None)
    if start is None:
        return Pacing(PaceStatus.NOT_STARTED, Decimal("0"), consumed, None)
    planned = planned_spend(total, start, end, at)
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
    return Pacing(status, planned, consumed, round(deviation, 1))
