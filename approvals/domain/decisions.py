"""Binding approvals to content, in pure Python."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from .audit import canonical


def content_hash(payload: Mapping[str, Any]) -> str:
    """The hash an approval is bound to: equal for equal content, whatever the key order."""
    return hashlib.sha256(canonical(payload)).hexdigest()


def edit_effort(before: Mapping[str, Any], after: Mapping[str, Any]) -> int:
    """How many characters a reviewer changed (inserted, deleted or replaced)."""
    a = json.dumps(before, sort_keys=True, default=str)
    b = json.dumps(after, sort_keys=True, default=str)
    changed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            changed += max(i2 - i1, j2 - j1)
    return changed


def claim_is_active(claimed_at: datetime | None, now: datetime, *, minutes: int) -> bool:
    """A claim holds the item for its reviewer until it goes stale: someone who opened
    it and walked away must not block the queue forever."""
    return claimed_at is not None and now - claimed_at < timedelta(minutes=minutes)
