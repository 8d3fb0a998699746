"""python manage.py audit_export — the audit trail for auditors, as CSV or JSON lines.

A thin adapter over ``governance.exports``: parse, validate, stream, report. See
docs/AUDIT.md for the columns and for verifying an export independently.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.exports import (
    WRITERS,
    AuditFilter,
    ExportFilterInvalid,
    ExportSummary,
    export_events,
)


class Command(BaseCommand):
    help = (
        "Export audit events (CSV or JSON lines), filtered by brand, campaign, time, actor "
        "and action; prints a summary, with a re-check of the exported hashes, to stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", required=True, choices=sorted(WRITERS))
        parser.add_argument("--brand", help="brand slug or id")
        parser.add_argument("--campaign", help="campaign id")
        parser.add_argument(
            "--since", help="from this ISO 8601 date or date-time, inclusive (UTC if no offset)"
        )
        parser.add_argument(
            "--until", help="up to this ISO 8601 date or date-time, exclusive (UTC if no offset)"
        )
        parser.add_argument("--actor", help="part of the actor label, case-insensitive")
        parser.add_argument(
            "--actor-exact", action="store_true", help="--actor is the whole actor label"
        )
        parser.add_argument("--action", help="action prefix, e.g. 'approval.'")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        fmt, output = options["format"], options["output"]
        try:
            audit_filter = AuditFilter.from_params(options)
        except ExportFilterInvalid as error:
            raise CommandError(str(error)) from None

        if output is None:
            # TRICKY: OutputWrapper adds a newline to every write not ending in one; the
            # writers end their own lines, and must not get a blank line between rows.
            self.stdout.ending = ""
            try:
                summary = export_events(audit_filter, fmt=fmt, stream=self.stdout)
            except BrokenPipeError:
                _silence_stdout()
                raise CommandError(
                    "The output was closed early; the export is incomplete."
                ) from None
        else:
            summary = _export_to_file(audit_filter, fmt=fmt, path=Path(output))

        style = self.style.SUCCESS if summary.verified else self.style.ERROR
        self.stderr.write(summary.line(), style_func=style)
        if not summary.verified:
            # The export is complete and kept (it is the evidence); the exit status tells
            # scripts that it does not verify.
            raise CommandError("The exported events do not verify; run audit_verify.")


def _silence_stdout() -> None:
    """The reader went away (``audit_export ... | head``). Point stdout at /dev/null so
    Python's flush at exit does not raise the same error again as a traceback."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _export_to_file(audit_filter: AuditFilter, *, fmt: str, path: Path) -> ExportSummary:
    if path.is_dir():
        raise CommandError(f"{path} is a directory; give a file name.")
    if not path.parent.is_dir():
        raise CommandError(f"Cannot write {path}: {path.parent} is not a directory.")
    # Written beside the target and renamed at the end (atomic within one filesystem), so
    # a failure part-way — a lost connection, a full disk — never leaves half an export
    # that looks whole. mkstemp makes it readable by its owner only, which suits audit data.
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            summary = export_events(audit_filter, fmt=fmt, stream=stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    return summary
