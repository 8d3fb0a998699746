"""Which write path the telemetry services take: PostgreSQL's bulk paths (COPY, unnest)
or the portable per-row one SQLite (the zero-setup default) takes. One function, so tests
can run the portable path on PostgreSQL."""

from django.db import connection


def postgresql() -> bool:
    return connection.vendor == "postgresql"
