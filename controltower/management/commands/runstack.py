"""``make run``: migrate, seed the demo, start Redis if embedded, then the web app (uvicorn,
HTTP + websockets), a Celery worker and Celery beat, until Ctrl-C stops them all."""

from __future__ import annotations

import os
import shlex
import socket
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from honcho.manager import Manager

from campaigns.demo import DEMO_LOGINS
from controltower.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from controltower.server import uvicorn_command


class Command(BaseCommand):
    help = "Set up and run the whole product: web + websockets, Celery worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-seed", action="store_true", help="Do not seed demo data.")

    def handle(self, *args, host: str, port: int, no_seed: bool, **options):
        if _port_taken(host, port):
            raise CommandError(
                f"Port {port} on {host} is already in use; stop what uses it or set PORT=…"
            )
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        redis = None
        if settings.REDIS_IS_EMBEDDED:
            redis = EmbeddedRedis(settings.EMBEDDED_REDIS_SOCKET)
            try:
                redis.start()
            except EmbeddedRedisError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Embedded Redis on {settings.EMBEDDED_REDIS_SOCKET}")
        try:
            call_command("migrate", interactive=False, verbosity=0)
            if not settings.DEBUG:
                call_command("collectstatic", interactive=False, verbosity=0)
            if settings.DEBUG and not no_seed:
                call_command("seed_demo")
            self._banner(host, port)
            returncode = self._run_processes(host, port)
        finally:
            if redis:
                redis.stop()
        sys.exit(returncode)

    def _run_processes(self, host: str, port: int) -> int:
        python = sys.executable
        manager = Manager()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        manager.add_process(
            "web", shlex.join(uvicorn_command(host, port, extra=["--no-access-log"])), env=env
        )
        manager.add_process(
            "worker",
            f"{python} -m celery -A controltower worker --loglevel INFO --concurrency 2",
            env=env,
        )
        manager.add_process(
            "beat",
            f"{python} -m celery -A controltower beat --loglevel INFO "
            f"--schedule {settings.VAR_DIR / 'celerybeat-schedule'}",
            env=env,
        )
        manager.loop()
        return manager.returncode or 0

    def _banner(self, host: str, port: int) -> None:
        database = settings.DATABASES["default"]
        engine = database["ENGINE"].rsplit(".", 1)[-1]
        where = f"{engine} {database.get('HOST') or ''}/{database['NAME']}".replace(" /", " ")
        lines = [
            "",
            "Campaign Control Tower is starting.",
            f"  Open    http://{host}:{port}/",
            f"  Data    {where}",
            f"  Redis   {'embedded, ' if settings.REDIS_IS_EMBEDDED else ''}{settings.REDIS_URL}",
        ]
        if settings.DEBUG:
            lines.append("  Logins (demo, DEBUG only):")
            lines += [
                f"    {login.role.value:<18} {login.username} / {login.password}"
                for login in DEMO_LOGINS
            ]
        lines += ["  Ctrl-C stops everything.", ""]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((host, port)) == 0
