#!/usr/bin/env python
import os
import sys

#: Commands that read no secret and touch no database: they run without configuration.
PURE_COMMANDS = {"detect_anomalies"}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in PURE_COMMANDS:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.pure")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.base")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
