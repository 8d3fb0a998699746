"""The whole product as ``make run`` starts it — ``manage.py runstack``: uvicorn (HTTP and
websockets), a Celery worker and Celery beat under one supervisor — but on the test
database and the test Redis, with beat ticking every second and a simulated clock the
test can move forward (``tests/clock.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tests import clock
from tests.stack import ROOT, free_port, process_env


@dataclass
class Stack:
    url: str
    log: Path
    clock_file: Path

    def advance(self, by: timedelta) -> None:
        """Move every process's clock forward (the test's own too, if installed)."""
        clock.advance(self.clock_file, by)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def whole_stack(tmp_path: Path, *, tick_seconds: float = 1.0) -> Iterator[Stack]:
    from controltower.celery import app

    app.control.purge()  # nothing left over from another test reaches this worker
    port = free_port()
    clock_file = tmp_path / "clock"
    clock_file.write_text("0")
    log = tmp_path / "runstack.log"
    env = process_env(
        DEBUG="1",
        CONTROLTOWER_VAR_DIR=str(tmp_path / "var"),
        CONTROLTOWER_TEST_CLOCK_FILE=str(clock_file),
        CONTROLTOWER_MONITORING_TICK_SECONDS=str(tick_seconds),
        CONTROLTOWER_APPROVAL_SWEEP_SECONDS=str(tick_seconds),
        CONTROLTOWER_TOWER_COALESCE_MS="200",
        # The clock jumps up to two hours at a time, and the market delivers on the next
        # tick: hours are closed (judged) only three hours after they end, as for a
        # platform that reports late, so no hour is judged before it was delivered.
        CONTROLTOWER_TELEMETRY_CLOSE_GRACE_SECONDS="10800",
    )
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runstack", "--no-seed", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, process, log)
            _wait_for(log, "beat: Starting", process, timeout=60)
            _wait_for(log, "ready.", process, timeout=60)  # the worker
            yield Stack(url=url, log=log, clock_file=clock_file)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C does
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url + "/accounts/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"{url} did not answer:\n{log.read_text(errors='replace')[-4000:]}")


def _wait_for(log: Path, needle: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} not in the log:\n{log.read_text(errors='replace')[-4000:]}")
