"""What makes a request for a personal API token acceptable: pure rules, no database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

#: What a token may do: read (GET), write (briefs, phase changes, telemetry, memory),
#: approve (decide approval requests). A token never does more than its owner may.
SCOPES: dict[str, str] = {
    "read": "Read campaigns, briefs, approvals, memory and the audit trail",
    "write": "Submit briefs, pause and resume campaigns, post telemetry, edit memory",
    "approve": "Decide approval requests in your queues",
}


def token_request_problems(
    *, name: str, scopes: Iterable[str], expires_at: datetime | None, now: datetime
) -> list[str]:
    """Every reason the request is refused, in words for the person making it."""
    scopes = set(scopes)
    problems = []
    if not name.strip():
        problems.append("Name the token after what will use it (e.g. “BI dashboard”).")
    unknown = sorted(scopes - set(SCOPES))
    if unknown:
        problems.append(f"Unknown scopes {', '.join(unknown)}; choose from {', '.join(SCOPES)}.")
    if not scopes:
        problems.append("Give the token at least one scope.")
    if expires_at is not None and expires_at <= now:
        problems.append("The expiry must be in the future.")
    return problems
