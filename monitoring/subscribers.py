"""What monitoring registers and reacts to."""

from __future__ import annotations

from governance import executors
from governance.domain.actions import ActionType

from . import executors as monitoring_executors

executors.register(ActionType.PAUSE, monitoring_executors.PAUSE)
