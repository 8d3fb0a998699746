"""What a launch would put out, in words, from the data (pure Python).

A launch proposal states its figures — how many variants on which channels, how many
people an email reaches — and people approve on them, so they must come from what is
cleared and who is reachable, never from a template's example numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from .briefs import CHANNELS


def launch_summary(
    *,
    cleared: Mapping[str, int],
    reachable_contacts: int,
    budget: Decimal,
    currency: str,
    days: int,
) -> str:
    """ "Launch plan ready: 2 paid-social variants, 2 email variants to 38 reachable
    contacts; 60,000 USD over 45 days." — or what is missing for one."""
    if not any(cleared.values()):
        return "Nothing is cleared for publishing yet: approve drafts before launching."
    parts = []
    for channel, n in sorted(cleared.items(), key=lambda item: list(CHANNELS).index(item[0])):
        if not n:
            continue
        label = CHANNELS.get(channel, channel).lower()
        part = f"{n} {label} variant{'' if n == 1 else 's'}"
        if channel == "email":
            if reachable_contacts:
                plural = "" if reachable_contacts == 1 else "s"
                part += f" to {reachable_contacts:,} reachable contact{plural}"
            else:
                part += " (no reachable contacts yet: upload some before it can send)"
        parts.append(part)
    spend = f"{budget:,.0f} {currency} over {days} day{'' if days == 1 else 's'}"
    return f"Launch plan ready: {', '.join(parts)}; {spend}."
