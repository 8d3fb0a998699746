"""A simulated clock shared by every process of a journey test ("two hours later…").

The stack's processes (uvicorn, the Celery worker and beat) run with the test settings,
which install this clock when ``CONTROLTOWER_TEST_CLOCK_FILE`` names a file: from then on
``django.utils.timezone.now()`` is the real time plus the number of seconds written in
that file. The test moves time forward by writing a bigger number; every process sees it
at its next call. Everything the product does with time goes through ``timezone.now()``
(model defaults included: the settings install the clock before any model is imported),
so the sandbox market delivers the hours in between, detectors judge them, SLAs tick.

Only the test settings ever install it; production code knows nothing of it.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path


def install(path: str) -> None:
    """Make ``timezone.now()`` read the offset in ``path`` (seconds; missing file: 0)."""
    import django.utils.timezone as tz

    real_now = tz.now
    cache: dict[str, object] = {"stamp": None, "offset": timedelta(0)}

    def now() -> datetime:
        try:
            stamp = os.stat(path).st_mtime_ns
        except FileNotFoundError:
            return real_now()
        if stamp != cache["stamp"]:
            text = Path(path).read_text().strip()
            cache["offset"] = timedelta(seconds=float(text or 0))
            cache["stamp"] = stamp
        return real_now() + cache["offset"]  # type: ignore[operator]

    tz.now = now


def advance(path: Path, by: timedelta) -> timedelta:
    """Move the shared clock forward by ``by``; the new offset."""
    current = float(path.read_text().strip() or 0) if path.exists() else 0.0
    offset = current + by.total_seconds()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(offset))
    tmp.replace(path)  # atomic: a process never reads half a number
    return timedelta(seconds=offset)
