"""Telemetry ingestion + anomaly checks, events per second in one process.

What runs: the real ingestion service (``monitoring.services.telemetry_ingest``) against
the bench PostgreSQL database, in this one process: validation, idempotent storage,
the hourly roll-up, and the detectors on every hour each batch closes plus every link
check at once — with flags raised, responses carried out and notices written where the
sandbox market's faults call for them. The events are the sandbox market's hourly
buckets for N live campaigns (three lines each: two paid-social variants and search),
with a fault injected into one campaign in ten, posted hour by hour in batches.

    .venv/bin/python bench/ingest_throughput.py [--campaigns 300] [--hours 72] [--batch 5000]

Prints events/s for the whole run and for its parts (parsing alone; storage and roll-up
without the checks), and how many flags the checks raised.
"""

import argparse
import random
import time
from datetime import timedelta
from decimal import Decimal

from common import _recreate_database, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--campaigns", type=int, default=300)
    parser.add_argument("--hours", type=int, default=72)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument(
        "--fault-every", type=int, default=10, help="one campaign in N has a fault (0: none)"
    )
    args = parser.parse_args()

    setup_django()
    _recreate_database()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone
    from guardian.shortcuts import assign_perm

    from agents.connectors.market import Fault, MarketSpec, simulate_series
    from campaigns.models import Brand, Brief, Campaign, PerformanceSample
    from monitoring.domain.telemetry import parse_rows
    from monitoring.models import AnomalyFlag, TelemetryEvent
    from monitoring.services import telemetry_ingest

    brand = Brand.objects.create(name="Bench", slug="bench")
    manager = get_user_model().objects.create_user("bench-manager", password="x")
    manager.groups.add(Group.objects.get(name="Marketing Manager"))
    assign_perm("campaigns.view_brand", manager, brand)
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=args.hours + 1
    )
    campaigns = []
    for i in range(args.campaigns):
        brief = Brief.objects.create(
            brand=brand,
            created_by=manager,
            title=f"Bench {i}",
            objective="x",
            channels=["social_ads", "search_ads"],
            budget=Decimal("162000"),
            deadline=(start + timedelta(days=30)).date(),
            success_metric="cpa",
            success_target=Decimal("28"),
        )
        campaigns.append(
            Campaign.objects.create(
                brand=brand,
                brief=brief,
                name=brief.title,
                owner=manager,
                phase="monitoring",
                phase_changed_at=start,
                launched_at=start,
                budget_total=brief.budget,
            )
        )
    print(
        f"{args.campaigns} campaigns, {args.hours} hours, 3 lines each, "
        f"a fault in {'none' if not args.fault_every else f'1 in {args.fault_every}'}: "
        "generating events…"
    )
    by_hour: dict[int, list[dict]] = {}
    spec = MarketSpec.default()
    for campaign in campaigns:
        rng = random.Random(campaign.pk)
        faults = []
        if args.fault_every and campaign.pk % args.fault_every == 0:
            kinds = ("cpm_spike", "broken_link", "overspend", "conversion_drop")
            kind = kinds[campaign.pk // args.fault_every % 4]
            faults.append(Fault(kind, timezone.localtime(start) + timedelta(hours=24), 48))
        for b in simulate_series(
            spec, start=timezone.localtime(start), hours=args.hours, rng=rng, faults=faults
        ):
            hour = int((b.at - timezone.localtime(start)).total_seconds() // 3600)
            by_hour.setdefault(hour, []).append(
                {
                    "event_id": f"b-{campaign.pk}-{b.channel}-{b.variant}-{hour}",
                    "campaign_id": campaign.pk,
                    "channel": b.channel,
                    "variant": b.variant,
                    "occurred_at": b.at.isoformat(),
                    "impressions": b.impressions,
                    "clicks": b.clicks,
                    "conversions": b.conversions,
                    "spend": f"{b.spend:.2f}",
                    "reach": b.reach,
                    "leads": b.leads,
                    "qualified_leads": b.qualified_leads,
                    "link_checks": b.link_checks,
                    "link_failures": b.link_failures,
                }
            )
    events = [e for hour in sorted(by_hour) for e in by_hour[hour]]
    batches = [events[i : i + args.batch] for i in range(0, len(events), args.batch)]
    total = len(events)
    print(f"{total:,} events in {len(batches)} batches of up to {args.batch:,}")

    now = timezone.now()
    t = time.perf_counter()
    for batch in batches:
        parse_rows(batch, now=now)
    parse_s = time.perf_counter() - t

    # Storage and roll-up alone (checks off), in a transaction rolled back afterwards.
    import monitoring.services.detection as detection

    t = time.perf_counter()
    with transaction.atomic():
        checks = detection.detect_on_batch
        detection.detect_on_batch = lambda **kw: []  # read at call time by the service
        try:
            for batch in batches:
                telemetry_ingest(brand_id=brand.pk, items=batch, now=now)
        finally:
            detection.detect_on_batch = checks
        store_s = time.perf_counter() - t
        transaction.set_rollback(True)

    t = time.perf_counter()
    per_batch = []
    for batch in batches:
        b0 = time.perf_counter()
        telemetry_ingest(brand_id=brand.pk, items=batch, now=now)
        per_batch.append(time.perf_counter() - b0)
    full_s = time.perf_counter() - t

    flags = AnomalyFlag.objects.filter(campaign__brand=brand)
    print()
    print(f"{'stage':<44} {'seconds':>8} {'events/s':>10}")
    print(f"{'parse and validate only':<44} {parse_s:8.2f} {total / parse_s:10,.0f}")
    print(f"{'+ store and roll up (checks off)':<44} {store_s:8.2f} {total / store_s:10,.0f}")
    print(f"{'everything: ingest + checks + responses':<44} {full_s:8.2f} {total / full_s:10,.0f}")
    steady = sorted(per_batch[len(per_batch) // 2 :])  # past the first days' warm-up
    per_batch.sort()
    print(
        f"\nper batch of {args.batch:,}: median {per_batch[len(per_batch) // 2] * 1000:.0f} ms, "
        f"max {per_batch[-1] * 1000:.0f} ms; second half of the run (warm): "
        f"{args.batch * len(steady) / sum(steady):,.0f} events/s"
    )
    print(
        f"stored {TelemetryEvent.objects.count():,} events, "
        f"{PerformanceSample.objects.count():,} hourly samples; "
        f"flags raised: {flags.count()} "
        f"({', '.join(sorted(set(flags.values_list('kind', flat=True)))) or 'none'})"
    )
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")


if __name__ == "__main__":
    main()
