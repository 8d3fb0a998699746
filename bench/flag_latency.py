"""From a telemetry event to its flag on a connected tower socket (target ≤ 2 s).

What runs: uvicorn serving the real ASGI app; a websocket client logged in as a manager
on the tower (the real consumer, session auth, channels_redis); and this process posting
telemetry to the real ingestion endpoint (token auth, JSON) over HTTP. Each trial posts
one batch whose event makes a flag fire:

* ``link``: a variant's link checks all fail (a broken landing page) — judged as the
  event arrives, so the flag fires in the request that carries it;
* ``hour``: the event that closes the hour in which a CPA above the brief's limit has
  lasted three judged hours (reported before) — the hour-closing path.

The clock starts before the POST is sent and stops when the socket has the campaign's
tower row showing the flag. Everything shares one 2-core machine.

    .venv/bin/python bench/flag_latency.py [--trials 30]
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
import urllib.request
from datetime import timedelta
from decimal import Decimal

from common import BASE_ENV, ROOT, _recreate_database, setup_django


def start_server(port: int) -> subprocess.Popen:
    from controltower.server import uvicorn_command

    env = {**os.environ, **BASE_ENV, "DATABASE_POOL": "1"}
    extra = ["--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(uvicorn_command("127.0.0.1", port, extra=extra), cwd=ROOT, env=env)


def post(port: int, token: str, events: list[dict]) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/telemetry/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def event(campaign_id, event_id, at, *, variant="A", channel="social_ads", **counts):
    return {
        "event_id": event_id,
        "campaign_id": campaign_id,
        "channel": channel,
        "variant": variant,
        "occurred_at": at.isoformat(),
        **counts,
    }


async def main_async(args) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.utils import timezone
    from guardian.shortcuts import assign_perm
    from websockets.asyncio.client import connect

    from campaigns.models import Brand, Brief, Campaign
    from monitoring.services.tokens import ingestion_token_create

    brand = Brand.objects.create(name="Latency", slug="latency")
    manager = get_user_model().objects.create_user("latency-manager", password="x")
    manager.groups.add(Group.objects.get(name="Marketing Manager"))
    assign_perm("campaigns.view_brand", manager, brand)
    admin = get_user_model().objects.create_user("latency-admin", password="x", is_staff=True)
    admin.groups.add(Group.objects.get(name="Admin"))
    _, token = ingestion_token_create(brand=brand, name="bench", user=admin)
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    campaigns = []
    for i in range(args.trials * 2):
        brief = Brief.objects.create(
            brand=brand,
            created_by=manager,
            title=f"Latency {i}",
            objective="x",
            channels=["social_ads"],
            budget=Decimal("100000"),
            deadline=(now + timedelta(days=30)).date(),
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
                phase_changed_at=now - timedelta(days=2),
                launched_at=now - timedelta(days=2),
                budget_total=brief.budget,
            )
        )
    web = Client()
    web.force_login(manager)
    cookie = web.cookies["sessionid"].value

    port = 8765
    server = start_server(port)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=1)
                break
            except OSError:
                await asyncio.sleep(0.1)
        ws = await connect(
            f"ws://127.0.0.1:{port}/ws/tower/",
            additional_headers={"Cookie": f"sessionid={cookie}", "Origin": "http://127.0.0.1"},
            max_queue=None,
        )
        arrived: dict[int, float] = {}
        wanted: dict[int, str] = {}

        async def reader():
            async for message in ws:
                at = time.perf_counter()
                for cid, needle in list(wanted.items()):
                    if f'id="tower-row-{cid}"' in message and needle in message:
                        arrived.setdefault(cid, at)

        reading = asyncio.create_task(reader())
        await asyncio.sleep(1.0)
        results: dict[str, list[float]] = {"link": [], "hour": []}
        missed = {"link": 0, "hour": 0}
        link_campaigns, hour_campaigns = campaigns[: args.trials], campaigns[args.trials :]

        # Six hours of CPA far above 28 (50 spent per conversion) for the hour trials: the
        # first three build the detector's minimum sample, the next two are bad (pending),
        # and the sixth is the one each trial's event closes.
        history = []
        for c in hour_campaigns:
            for back in (7, 6, 5, 4, 3, 2):
                at = hour - timedelta(hours=back)
                history.append(
                    event(
                        c.pk,
                        f"h-{c.pk}-{back}",
                        at,
                        impressions=20000,
                        clicks=200,
                        conversions=30,
                        spend="1500.00",
                    )
                )
        await asyncio.to_thread(post, port, token, history)
        from monitoring.models import AnomalyFlag

        before = AnomalyFlag.objects.filter(campaign__in=hour_campaigns, kind="cpa_above_limit")
        print(
            f"after the history: {before.filter(state='pending').count()} CPA flags pending, "
            f"{before.filter(state='firing').count()} firing"
        )

        async def trial(kind, campaign, events, needle):
            wanted[campaign.pk] = needle
            start = time.perf_counter()
            body = await asyncio.to_thread(post, port, token, events)
            deadline = start + 10
            while campaign.pk not in arrived and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            if campaign.pk in arrived:
                results[kind].append((arrived[campaign.pk] - start) * 1000)
            else:
                missed[kind] += 1
            return body

        for c in link_campaigns:
            await trial(
                "link",
                c,
                [
                    event(
                        c.pk,
                        f"l-{c.pk}",
                        now - timedelta(minutes=1),
                        variant="L",
                        link_checks=12,
                        link_failures=12,
                    )
                ],
                "Broken link",
            )
            await asyncio.sleep(0.05)
        for c in hour_campaigns:
            # A report for the next hour closes the third bad one.
            events = [
                event(
                    c.pk,
                    f"h-{c.pk}-1",
                    hour - timedelta(hours=1) + timedelta(minutes=1),
                    impressions=100,
                    clicks=1,
                    conversions=0,
                    spend="5.00",
                ),
            ]
            await trial("hour", c, events, "CPA above control limit")
            await asyncio.sleep(0.05)

        reading.cancel()
        await ws.close()

    finally:
        server.terminate()
        server.wait(timeout=15)

    from monitoring.models import AnomalyFlag

    firing = AnomalyFlag.objects.filter(campaign__in=hour_campaigns, kind="cpa_above_limit")
    print(
        f"after the trials: {firing.filter(state='firing').count()} of {len(hour_campaigns)} "
        "CPA flags firing"
    )
    print(f"{'flag path':<32} {'n':>4} {'median':>9} {'p95':>9} {'max':>9}  missed")
    for kind, label in (
        ("link", "link checks fail (at once)"),
        ("hour", "third bad CPA hour closes"),
    ):
        values = sorted(results[kind])
        if not values:
            print(f"{label:<32} {0:>4}  (none arrived; missed {missed[kind]})")
            continue
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        print(
            f"{label:<32} {len(values):>4} {statistics.median(values):7.0f} ms "
            f"{p95:7.0f} ms {values[-1]:7.0f} ms  {missed[kind]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # this script's own set-up queries
    setup_django()
    _recreate_database()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
