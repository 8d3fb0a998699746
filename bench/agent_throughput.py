"""Briefs processed to first drafts per minute, one Celery worker, offline composer.

What runs: a real Celery worker (prefork, concurrency 1 unless --concurrency) on the
bench database and Redis; this process submits N briefs through the real service
(brief_create → planner queued → research → content → drafts proposed through the
gate). The clock starts before the first brief is committed and each brief is counted
when its drafts handoff exists (the first drafts); the figure is N divided by the time
until the last brief has its drafts. Everything shares one 2-core machine.

    .venv/bin/python bench/agent_throughput.py [--briefs 60] [--concurrency 1]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

from common import BASE_ENV, ROOT, _recreate_database, setup_django


def start_worker(concurrency: int) -> subprocess.Popen:
    env = {**os.environ, **BASE_ENV, "DATABASE_POOL": "0", "LLM_PROVIDER": "offline"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "controltower",
            "worker",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--briefs", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()

    setup_django()
    _recreate_database()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone
    from guardian.shortcuts import assign_perm

    from agents.models import Handoff
    from campaigns.domain.briefs import BriefSpec
    from campaigns.models import Brand
    from campaigns.services import brief_create
    from controltower.celery import app

    brand = Brand.objects.create(name="Bench brand", slug="bench-brand")
    manager = get_user_model().objects.create(username="bench-manager")
    manager.groups.add(Group.objects.get(name="Marketing Manager"))
    assign_perm("campaigns.view_brand", manager, brand)
    app.control.purge()

    worker = start_worker(args.concurrency)
    try:
        time.sleep(8)  # let the worker connect before the clock starts
        submitted: dict[int, float] = {}
        started = time.perf_counter()
        for i in range(args.briefs):
            _, campaign = brief_create(
                author=manager,
                brand=brand,
                spec=BriefSpec(
                    title=f"Bench brief {i}",
                    objective="Grow repeat orders from lapsed subscribers",
                    budget=Decimal("5000"),
                    deadline=timezone.localdate() + timedelta(days=30),
                    success_metric="cpa",
                    channels=["email", "social_ads", "search_ads"],
                    offer="A free grinder with three bags",
                    required_claims=["Roasted to order"],
                ),
            )
            submitted[campaign.pk] = time.perf_counter()
        done: dict[int, float] = {}
        deadline = time.monotonic() + 600
        while len(done) < len(submitted) and time.monotonic() < deadline:
            for cid in Handoff.objects.filter(kind="drafts").values_list("campaign_id", flat=True):
                done.setdefault(cid, time.perf_counter())
            time.sleep(0.05)
        elapsed = max(done.values()) - started if done else float("nan")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    latencies = [done[c] - submitted[c] for c in done]
    print(
        f"briefs={args.briefs} concurrency={args.concurrency} drafted={len(done)} "
        f"elapsed={elapsed:.1f}s → {60 * len(done) / elapsed:.1f} briefs/minute to first drafts; "
        f"submit→drafts median {statistics.median(latencies):.2f}s, max {max(latencies):.2f}s"
    )


if __name__ == "__main__":
    main()
