"""What brand memory registers and reacts to: the executor of brand-memory updates."""

from __future__ import annotations

from governance import executors
from governance.domain.actions import ActionType

from . import executors as memory_executors

executors.register(ActionType.UPDATE_BRAND_MEMORY, memory_executors.UPDATE_BRAND_MEMORY)
