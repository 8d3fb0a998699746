"""Reads of the ground floor: the audit chain, in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .models import AuditEvent


def audit_chain_links(*, chunk_size: int = 2000) -> Iterator[tuple[int, str, str, dict[str, Any]]]:
    """Every event as ``(seq, prev_hash, hash, hashed content)``, in chain order, streamed."""
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        yield event.seq, event.prev_hash, event.hash, event.hashed_content()
