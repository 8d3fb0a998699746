"""What the agents register and react to."""

from __future__ import annotations

from governance import executors
from governance.domain.actions import ActionType

from . import executors as agents_executors

executors.register(ActionType.REALLOCATE_BUDGET, agents_executors.REALLOCATE_BUDGET)
