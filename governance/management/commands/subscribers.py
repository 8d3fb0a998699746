"""``manage.py subscribers``: who reacts to what, as the running code has it — every event
of ``governance.events`` with its receivers, and every action with its executor."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from governance import events, executors


class Command(BaseCommand):
    help = "List every event's receivers and every delegated action's executor."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("Events (governance.events) and their receivers:")
        for event, receiver in events.subscribers():
            self.stdout.write(f"  {event:<22} {receiver}")
        self.stdout.write("\nDelegated actions (governance.executors) and their executors:")
        for action, executor in sorted(executors.registered().items()):
            self.stdout.write(
                f"  {action.value:<22} {executor.run.__module__}.{executor.run.__qualname__}"
            )
