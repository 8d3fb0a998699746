"""The audit trail's hash chain, in pure Python.

Each event's hash covers its own content and the hash of the event before it, so
changing, removing or re-ordering any past event breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who acted: a person (``user_id``) or an agent (``agent``), never both."""

    label: str
    user_id: int | None = None
    agent: str = ""

    def __post_init__(self) -> None:
        if (self.user_id is None) == (not self.agent):
            raise ValueError("An actor is exactly one of a user or an agent.")

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        return cls(label=user.get_username(), user_id=user.pk)

    @classmethod
    def for_agent(cls, agent: str) -> Actor:
        return cls(label=f"agent:{agent}", agent=agent)

    @classmethod
    def system(cls, process: str) -> Actor:
        """A scheduled or command-line process acting on nobody's behalf."""
        return cls(label=f"system:{process}", agent=f"system:{process}")

    @property
    def is_agent(self) -> bool:
        return bool(self.agent)

    @property
    def is_system(self) -> bool:
        """A scheduled or command-line process of ours, not an AI agent."""
        return self.agent.startswith("system:")


def canonical(content: Mapping[str, Any]) -> bytes:
    """One byte string per content: sorted keys, no spaces, non-JSON values as strings."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


def event_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(content)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


def verify_chain(events: Iterable[tuple[int, str, str, Mapping[str, Any]]]) -> ChainBreak | None:
    """Check ``(seq, prev_hash, hash, content)`` in ``seq`` order; return the first break."""
    expected_prev, expected_seq = GENESIS_HASH, 1
    for seq, prev_hash, digest, content in events:
        if seq != expected_seq:
            return ChainBreak(
                seq, f"expected event #{expected_seq}, found #{seq}: events are missing"
            )
        if prev_hash != expected_prev:
            return ChainBreak(seq, "its link to the previous event does not match")
        if event_hash(prev_hash, content) != digest:
            return ChainBreak(seq, "its content does not match its hash: it was altered")
        expected_prev, expected_seq = digest, seq + 1
    return None
