"""Commit → every connected tower socket has the update: 100 and 1,000 sockets.

Targets (DESIGN.md §6): p99 ≤ 25 ms at 100 sockets, p99 ≤ 150 ms at 1,000.

What runs: uvicorn serving the real ASGI app (session auth, origin check, the tower
consumer, channels_redis pub/sub), N websocket clients logged in as a manager, and this
process committing phase changes through the real service. The clock starts when the
transaction commits and stops when the last of the N clients has the row. Everything
shares one 2-core machine, clients included.

    .venv/bin/python bench/broadcast_latency.py [--sockets 100,1000] [--changes 100]
                                                [--workers 1]
"""

import argparse
import asyncio
import gc
import os
import re
import statistics
import subprocess
import time

from common import BASE_ENV, ROOT, describe, seed_campaigns, setup_django

SERVER_FLAGS: list[str] = os.environ.get("BENCH_SERVER_FLAGS", "").split()
ROW_ID = re.compile(r'id="tower-row-(\d+)"')


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, **BASE_ENV, "DATABASE_POOL": "1", "CONTROLTOWER_TOWER_COALESCE_MS": "250"}
    from controltower.server import uvicorn_command

    extra = ["--no-access-log", "--log-level", "warning", *SERVER_FLAGS]
    return subprocess.Popen(
        uvicorn_command("127.0.0.1", port, workers=workers, extra=extra), cwd=ROOT, env=env
    )


async def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise SystemExit("uvicorn did not start")


async def run(n_sockets: int, n_changes: int, port: int, cookie: str, campaign_ids: list[int]):
    from asgiref.sync import sync_to_async
    from django.db import transaction
    from websockets.asyncio.client import connect

    from campaigns.models import Campaign
    from campaigns.services import campaign_transition_phase
    from governance.domain.audit import Actor

    received: dict[int, list[float]] = {}
    waiters: dict[int, asyncio.Event] = {}

    async def client(ws):
        async for message in ws:
            now = time.perf_counter()
            match = ROW_ID.search(message)
            if match:
                cid = int(match.group(1))
                times = received.setdefault(cid, [])
                times.append(now)
                if len(times) == n_sockets and cid in waiters:
                    waiters[cid].set()

    sockets = []
    limit = asyncio.Semaphore(50)

    async def open_one():
        async with limit:
            ws = await connect(
                f"ws://127.0.0.1:{port}/ws/tower/",
                additional_headers={"Cookie": f"sessionid={cookie}", "Origin": "http://127.0.0.1"},
                max_queue=None,
            )
            sockets.append(ws)

    await asyncio.gather(*(open_one() for _ in range(n_sockets)))
    readers = [asyncio.create_task(client(ws)) for ws in sockets]
    await asyncio.sleep(1.0)  # let every group subscription settle
    # The clients stand in for browsers: keep this process's garbage collector from
    # pausing them (a full collection over 1,000 client sockets takes ~100 ms).
    gc.collect()
    gc.freeze()

    def change(cid: int, committed: list[float]) -> None:
        phase = Campaign.objects.values_list("phase", flat=True).get(pk=cid)
        target = "monitoring" if phase == "execution" else "execution"
        with transaction.atomic():
            transaction.on_commit(lambda: committed.append(time.perf_counter()))
            campaign_transition_phase(
                campaign_id=cid, to_phase=target, actor=Actor.for_agent("performance")
            )

    latencies, medians, missed = [], [], 0
    for cid in campaign_ids[:n_changes]:
        committed: list[float] = []
        waiters[cid] = asyncio.Event()
        await sync_to_async(change, thread_sensitive=False)(cid, committed)
        try:
            await asyncio.wait_for(waiters[cid].wait(), timeout=5)
        except TimeoutError:
            missed += 1
            continue
        times = received[cid]
        latencies.append((max(times) - committed[0]) * 1000)
        medians.append((statistics.median(times) - committed[0]) * 1000)
        await asyncio.sleep(0.02)

    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return latencies, medians, missed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", default="100,1000")
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    setup_django()

    from django.test import Client

    from campaigns.models import Campaign

    people = seed_campaigns(1000)
    web = Client()
    web.force_login(people["manager"])
    cookie = web.cookies["sessionid"].value
    # Live campaigns that can move back and forth between execution and monitoring.
    ids = list(
        Campaign.objects.filter(phase__in=["execution", "monitoring"])
        .order_by("id")
        .values_list("id", flat=True)[: args.changes]
    )
    port = 8765
    server = start_server(port, args.workers)
    try:
        asyncio.run(wait_for_port(port))
        time.sleep(1.0)
        for n in [int(s) for s in args.sockets.split(",")]:
            latencies, medians, missed = asyncio.run(run(n, args.changes, port, cookie, ids))
            if os.environ.get("BENCH_VERBOSE"):
                print("latencies ms:", " ".join(f"{v:.0f}" for v in latencies))
            print(
                f"commit → all {n:>5} sockets  workers={args.workers}  {describe(latencies)}"
                f"  missed={missed}"
            )
            print(f"commit → median socket {n:>5}  workers={args.workers}  {describe(medians)}")
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
