"""Start real processes against the test database: a Celery worker, a uvicorn server.

They run with the test settings and the test database's name, so what a test commits is
what they see, and what they commit is what the test reads.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from controltower.server import uvicorn_command

ROOT = Path(__file__).resolve().parent.parent


def process_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    db = connection.settings_dict
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "controltower.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "DATABASE_POOL": "1",  # the servers run as in production: pooled
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_line(log: Path, needle: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(
        f"{needle!r} not seen in {log}:\n{log.read_text(errors='replace')[-3000:]}"
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


#: How ``make run`` starts its worker (controltower/management/commands/runstack.py):
#: the default prefork pool with two child processes.
RUN_POOL = {"pool": "prefork", "concurrency": 2}


@contextmanager
def celery_worker(
    log: Path,
    *,
    purge: bool = True,
    pool: str = "solo",
    concurrency: int = 1,
    name: str = "",
    **env: str,
) -> Iterator[subprocess.Popen]:
    """A real worker process consuming the test broker (queue purged first unless
    ``purge`` is off), with ``env`` added to its environment. ``pool``/``concurrency``
    as ``celery worker`` takes them (``**RUN_POOL``: as ``make run`` starts it); give
    each of several workers its own ``name``."""
    from controltower.celery import app

    if purge:
        app.control.purge()
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "controltower",
                "worker",
                "--pool",
                pool,
                *(["--concurrency", str(concurrency)] if pool != "solo" else []),
                *(["--hostname", f"{name}@%h"] if name else []),
                "--loglevel",
                "INFO",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=process_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_line(log, "ready.", process, timeout=60)
            yield process
        finally:
            _stop(process)


@contextmanager
def asgi_server(log: Path, port: int | None = None) -> Iterator[str]:
    """uvicorn serving the real ASGI app (HTTP + websockets); yields its base URL."""
    port = port or free_port()
    with log.open("a") as out:
        process = subprocess.Popen(
            uvicorn_command("127.0.0.1", port),
            cwd=ROOT,
            env=process_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_line(log, f"Uvicorn running on http://127.0.0.1:{port}", process, timeout=60)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(process)


@contextmanager
def celery_beat(log: Path, schedule_seconds: float) -> Iterator[subprocess.Popen]:
    """A real Celery beat process sending the project's periodic tasks, with the approval
    timer sweep and monitoring's ticks every ``schedule_seconds``. Its schedule file
    lives beside the log (a temporary directory), never in the project's ``var/``."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "controltower",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(log.parent / "celerybeat-schedule"),
                # Wake at least this often, so a short test interval is kept.
                "--max-interval",
                str(max(1, int(schedule_seconds))),
            ],
            cwd=ROOT,
            env=process_env(
                CONTROLTOWER_APPROVAL_SWEEP_SECONDS=str(schedule_seconds),
                CONTROLTOWER_MONITORING_TICK_SECONDS=str(schedule_seconds),
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_line(log, "beat: Starting...", process, timeout=60)
            yield process
        finally:
            _stop(process)
