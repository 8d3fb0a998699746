"""The per-brand language-model spend cap, in pure Python: agents stop *before* a run
could take the month's spend past the cap, so the check uses the most the run can cost,
not what it will probably cost."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def spend_cap_refusal(*, spent: Decimal, max_run_cost: Decimal, cap: Decimal | None) -> str:
    """Why a run may not start under ``cap`` (no cap: never), or "" when it may."""
    if cap is None or spent + max_run_cost <= cap:
        return ""
    return (
        f"The brand's language-model spend this month is {spent:.2f} of its {cap:.2f} "
        f"cap, and this run could cost up to {max_run_cost:.2f}; agents stop before the cap."
    )
