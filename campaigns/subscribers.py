"""What campaigns registers: the executors of its actions (launch, pause, change budget,
publish content), carried out when the gate allows them."""

from __future__ import annotations

from governance import executors

from .executors import EXECUTORS

for action, executor in EXECUTORS.items():
    executors.register(action, executor)
