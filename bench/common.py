"""Shared set-up for the bench scripts: a dedicated PostgreSQL database with N campaigns.

Scripts print figures; they never assert. Record what they print in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import os
import statistics
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = os.environ.get("BENCH_DATABASE", "controltower_bench")
BASE_ENV = {
    "DJANGO_SETTINGS_MODULE": "controltower.settings.base",
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
    ),
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"),
    "CONTROLTOWER_CHANNEL_PREFIX": "controltower-bench",
    "LOG_LEVEL": "WARNING",
    # Production static files (hashed manifest) are collected here.
    "CONTROLTOWER_VAR_DIR": os.environ.get("BENCH_VAR_DIR", "/tmp/controltower-bench-var"),
}


def setup_django() -> None:
    for key, value in BASE_ENV.items():
        os.environ.setdefault(key, value)
    _ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def _ensure_database(*, fresh: bool = False) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def _recreate_database() -> None:
    """A clean bench database: audit history protects campaigns from deletion, rightly."""
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    if hasattr(connections["default"], "close_pool"):
        connections["default"].close_pool()  # pooled connections die with the database
    _ensure_database(fresh=True)
    call_command("migrate", interactive=False, verbosity=0)


def seed_campaigns(n: int) -> dict:
    """Exactly ``n`` campaigns over two brands, with flags, SLA states and approvals on
    some, plus a manager assigned to both brands and an admin. Idempotent per ``n``."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone
    from guardian.shortcuts import assign_perm

    from approvals.models import ApprovalRequest
    from campaigns.models import Brand, Brief, Campaign
    from monitoring.models import AnomalyFlag

    User = get_user_model()
    brands = [
        Brand.objects.get_or_create(slug=slug, defaults={"name": name})[0]
        for slug, name in (("bench-a", "Bench A"), ("bench-b", "Bench B"))
    ]
    manager, created = User.objects.get_or_create(username="bench-manager")
    if created:
        manager.set_password("bench-password-123")
        manager.save()
        manager.groups.add(Group.objects.get(name="Marketing Manager"))
        for brand in brands:
            assign_perm("campaigns.view_brand", manager, brand)
    admin, created = User.objects.get_or_create(username="bench-admin", defaults={"is_staff": True})
    if created:
        admin.set_password("bench-password-123")
        admin.save()
        admin.groups.add(Group.objects.get(name="Admin"))

    if Campaign.objects.count() not in (0, n):
        _recreate_database()
        return seed_campaigns(n)
    if Campaign.objects.count() == 0:
        now = timezone.now()
        briefs = [
            Brief.objects.create(
                brand=brand,
                title=f"Bench brief {brand.slug}",
                objective="Bench",
                channels=["email"],
                budget=Decimal("50000"),
                deadline=(now + timedelta(days=60)).date(),
                success_metric="cpa",
                created_by=manager,
            )
            for brand in brands
        ]
        phases = ["briefing", "execution", "monitoring", "escalated", "paused"]
        campaigns = Campaign.objects.bulk_create(
            [
                Campaign(
                    brand=brands[i % 2],
                    brief=briefs[i % 2],
                    name=f"Campaign {i:05d}",
                    owner=manager,
                    phase=phases[i % len(phases)],
                    phase_changed_at=now,
                    budget_total=Decimal("50000"),
                    budget_consumed=Decimal(i % 50_000),
                    launched_at=now - timedelta(days=10),
                    sla_status=("on_track", "at_risk")[i % 7 == 0],
                )
                for i in range(n)
            ],
            batch_size=2000,
        )
        AnomalyFlag.objects.bulk_create(
            [
                AnomalyFlag(campaign=c, kind="cpm_spike", explanation="CPM spike", opened_at=now)
                for c in campaigns[::10]
            ],
            batch_size=2000,
        )
        ApprovalRequest.objects.bulk_create(
            [
                ApprovalRequest(
                    campaign=c,
                    brand_id=c.brand_id,
                    action_type="launch",
                    queue_role="Marketing Manager",
                    summary="Launch",
                    requested_by_agent="distribution",
                    due_at=now + timedelta(hours=4),  # bulk_create skips save()'s SLA clock
                )
                for c in campaigns[::5]
            ],
            batch_size=2000,
        )
        # Fresh bulk loads have no planner statistics yet; a live database would.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"brands": brands, "manager": manager, "admin": admin}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def describe(values_ms: list[float]) -> str:
    return (
        f"median {statistics.median(values_ms):7.2f} ms  p95 {percentile(values_ms, 95):7.2f} ms  "
        f"p99 {percentile(values_ms, 99):7.2f} ms  (n={len(values_ms)})"
    )
