"""Binding approvals to content, in pure Python."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from governance.domain.audit import content_hash  # noqa: F401  (bound here by approvals)


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


@dataclass(frozen=True)
class FieldDiff:
    """One payload field's change, as runs of ("same" | "added" | "removed", text)."""

    field: str
    runs: tuple[tuple[str, str], ...]


def payload_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldDiff]:
    """Word-level differences between two versions of a proposal, field by field; fields
    that did not change are left out."""
    diffs = []
    for field in sorted(set(before) | set(after)):
        old, new = _words(before.get(field)), _words(after.get(field))
        if old == new:
            continue
        runs: list[tuple[str, str]] = []
        matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                runs.append(("same", " ".join(old[i1:i2])))
                continue
            if i2 > i1:
                runs.append(("removed", " ".join(old[i1:i2])))
            if j2 > j1:
                runs.append(("added", " ".join(new[j1:j2])))
        diffs.append(FieldDiff(field, tuple(runs)))
    return diffs


def _words(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    return str(value).split()
