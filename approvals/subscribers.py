"""What approvals registers and reacts to."""

from __future__ import annotations

from governance import executors
from governance.domain.actions import ActionType

from . import executors as approvals_executors

executors.register(ActionType.ADJUST_AUTONOMY, approvals_executors.ADJUST_AUTONOMY)
