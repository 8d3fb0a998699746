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


def content_hash(payload: Mapping[str, Any]) -> str:
    """The hash an approval is bound to: equal for equal content, whatever the key order."""
    return hashlib.sha256(canonical(payload)).hexdigest()


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


# --- Checkpoints: the chain head anchored outside the database ---------------------------

#: What a checkpoint signs, in this order.
CHECKPOINT_FIELDS = ("seq", "hash", "at")


def checkpoint_sign(*, seq: int, head_hash: str, at: str, key: bytes) -> dict[str, Any]:
    """A checkpoint of the chain head: where it stood at ``at`` (ISO time), signed with
    HMAC-SHA256 so a copy kept outside the database cannot be forged to match a rewound
    trail by someone who has only the database."""
    import hmac

    body = {"seq": seq, "hash": head_hash, "at": at}
    mac = hmac.new(key, canonical(body), hashlib.sha256).hexdigest()
    return {**body, "signature": mac}


def checkpoint_problem(
    checkpoint: Mapping[str, Any],
    *,
    key: bytes,
    event_hash_at: Mapping[int, str],
    head_seq: int,
) -> str:
    """Why the trail does not match ``checkpoint`` ("" when it does): a bad signature,
    the head behind the checkpoint (events removed and the head rewound), or the event
    the checkpoint names missing or changed. ``event_hash_at`` maps seq → stored hash
    (only the checkpoint's seq is looked up)."""
    import hmac

    try:
        seq, head_hash, at = (checkpoint[f] for f in CHECKPOINT_FIELDS)
        signature = str(checkpoint["signature"])
    except KeyError as missing:
        return f"the checkpoint has no {missing.args[0]}"
    if not isinstance(seq, int) or not isinstance(head_hash, str):
        return "the checkpoint is malformed"
    expected = checkpoint_sign(seq=seq, head_hash=head_hash, at=str(at), key=key)["signature"]
    if not hmac.compare_digest(expected, signature):
        return "the checkpoint's signature does not match (a different key, or edited)"
    if seq == 0:
        return ""
    if head_seq < seq:
        return (
            f"the chain head records #{head_seq}, but on {at} it had reached #{seq}: "
            "events were removed and the head rewound"
        )
    stored = event_hash_at.get(seq)
    if stored is None:
        return f"event #{seq}, which the checkpoint of {at} names, is missing"
    if stored != head_hash:
        return f"event #{seq} differs from the checkpoint of {at}: the trail was rewritten"
    return ""
