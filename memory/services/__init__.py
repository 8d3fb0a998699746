"""Every write of brand memory and the claims registry, by subject:

- ``entries``: a brand's memory (facts, voice rules, lessons) and the gate's executor's
  changes to it;
- ``claims``: the claims registry — propose, review, retire, expiry notices;
- ``notices``: the email telling a claim's legal owner it is about to expire.

Adapters (pages, the API, the gate's executor, the daily expiry task, the demo) import
from here; the modules are an implementation detail.
"""

from .claims import (
    claim_expiry_notices_send,
    claim_propose,
    claim_retire,
    claim_review,
)
from .entries import (
    ClaimInvalid,
    MemoryInvalid,
    StaleVersion,
    memory_change_apply,
    memory_entry_create,
    memory_entry_retire,
    memory_entry_revise,
)
from .notices import send_claim_expiry_notice

__all__ = [
    "ClaimInvalid",
    "MemoryInvalid",
    "StaleVersion",
    "claim_expiry_notices_send",
    "claim_propose",
    "claim_retire",
    "claim_review",
    "memory_change_apply",
    "memory_entry_create",
    "memory_entry_retire",
    "memory_entry_revise",
    "send_claim_expiry_notice",
]
