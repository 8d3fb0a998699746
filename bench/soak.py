"""Memory under sustained load (issue 15.7): the whole stack, mixed load at a fixed rate.

Target (DESIGN.md §6): RSS growth < 10 % after warm-up over a 30-minute mixed soak, with
no errors and nothing lost.

What runs: ``manage.py runstack`` — what ``make run`` starts: uvicorn (HTTP and
websockets), a Celery worker (prefork, two children) and Celery beat — with DEBUG off,
on its own database (``ct_soak``, dropped and re-created), its own Redis database (13)
and channel prefix, on port 8731. The demo data is seeded (``seed_demo``: the sandbox
market delivers its live campaigns on every beat tick), plus 40 campaigns fed through
the telemetry API. This process drives, at a fixed rate whatever the answers' speed:

* browsers: logged-in people (managers, legal reviewers, an admin) each viewing a page
  every few seconds — the tower, a campaign's page, the approvals queue — and, like a
  browser, opening the page's live socket and closing it on the next page;
* live sockets that stay open the whole run (every one must still be open at the end);
* API lists (campaigns, briefs, approvals, me) with personal tokens;
* telemetry batches through ``/api/v1/telemetry/events`` with the brands' ingestion
  tokens (simulated hours move forward, some lines have faults so flags fire, and a few
  events of each batch are sent again to check idempotency);
* briefs submitted through the API (the worker's agents plan and draft them);
* approval decisions through the API (approve, reject, request changes), and campaigns
  that went live paused again through the API a while later, so the number of
  campaigns the sandbox market delivers stays about constant.

Every 30 s the RSS (``VmRSS`` of ``/proc/<pid>/status``) of the web process and of the
worker with its pool children is sampled. At the end it prints RSS over time, growth
after the warm-up, request counts, errors (any unexpected HTTP answer, a live socket
that closed, a traceback in the stack's log) and what was lost (counted in the
database: every accepted brief has its campaign, every accepted event is stored, every
decision and pause is recorded).

    .venv/bin/python bench/soak.py [--minutes 30] [--warmup 5] [--sample-seconds 30]
                                   [--rate 1.0]  # scales every fixed rate
                                   [--memstats]  # where the web process's memory is
                                   [--trace]  # + tracemalloc (slow: for finding causes)
                                   [--env NAME=VALUE …]  # settings for the stack

The rate (``EVERY`` below): each of 6 browsers views a page every 4 s (1.5 pages and
1.5 socket opens a second), an API list every 1.5 s, a telemetry batch of 124 events
every 2 s, a brief every 30 s, a queue listed every 3 s with its oldest item decided —
about 3.2 HTTP requests a second in all.

Everything runs on the same 2-core machine; every process it starts is stopped at the
end, on Ctrl-C and on error.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from http.cookiejar import CookieJar
from pathlib import Path

SOAK_DB = "ct_soak"
PORT = 8731
VAR_DIR = Path("/tmp/ct-soak-var")
# Before bench.common is imported: it reads these to pick the database and Redis.
os.environ["BENCH_DATABASE"] = SOAK_DB
os.environ.pop("BENCH_DATABASE_URL", None)
os.environ["BENCH_REDIS_URL"] = "redis://127.0.0.1:6379/13"
os.environ["BENCH_VAR_DIR"] = str(VAR_DIR)
os.environ["CONTROLTOWER_CHANNEL_PREFIX"] = "ct-soak"

from common import BASE_ENV, ROOT, _ensure_database, percentile, setup_django  # noqa: E402

BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "soak-password-0123"
TRACE_DIR = VAR_DIR / "trace"

#: The fixed rate, in seconds between operations of each kind (see ``--rate``).
EVERY = {
    "page": 4.0,  # per browser (6 browsers: 1.5 page views/s, each with its socket)
    "api": 1.5,  # one API list
    "telemetry": 2.0,  # one batch (the two brands take turns)
    "brief": 30.0,
    "decide": 3.0,  # one queue listed, its oldest item decided
    "pause": 10.0,  # a campaign live for a while paused again
}
FEED_CAMPAIGNS = 20  # per brand, fed through the telemetry API
FEED_HOURS_PER_BATCH = 2
DUPLICATES_PER_BATCH = 4
LIVE_FOR = 120.0  # seconds a campaign the soak launched stays live before it is paused


# --------------------------------------------------------------------------- set-up


def soak_env() -> dict[str, str]:
    return {
        **os.environ,
        **BASE_ENV,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{SOAK_DB}",
        "REDIS_URL": "redis://127.0.0.1:6379/13",
        "CONTROLTOWER_CHANNEL_PREFIX": "ct-soak",
        "CONTROLTOWER_VAR_DIR": str(VAR_DIR),
        "CONTROLTOWER_BASE_URL": BASE,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def prepare(feed_hours: int) -> dict:
    """A fresh database with the demo and the soak's people, tokens and fed campaigns,
    whose telemetry starts ``feed_hours`` (and a day) ago."""
    for key, value in soak_env().items():
        os.environ[key] = value
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celerybeat-schedule").unlink(missing_ok=True)
    _ensure_database(fresh=True)
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()  # database 13: the soak's own
    setup_django()  # migrate, collectstatic (DEBUG off: the hashed manifest)
    print("seeding the demo (seed_demo)…", flush=True)
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        cwd=ROOT,
        env={**soak_env(), "DEBUG": "1", "LOG_LEVEL": "WARNING"},
        check=True,
        stdout=subprocess.DEVNULL,
    )

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from api.tokens import api_token_create
    from campaigns.models import Brand, Brief, Campaign
    from governance import policies
    from governance.domain.audit import Actor
    from governance.services import brand_assign
    from monitoring.services.tokens import ingestion_token_create

    User = get_user_model()
    brands = {b.slug: b for b in Brand.objects.order_by("slug")}
    admin = User.objects.get(username="admin")
    system = Actor.for_user(admin)
    extra = {
        "manager2": ("Marketing Manager", ["northwind", "lumen"]),
        "legal2": ("Legal Reviewer", ["lumen"]),
    }
    for username, (role, slugs) in extra.items():
        user = User.objects.create_user(username, password=PASSWORD)
        user.groups.add(Group.objects.get(name=role))
        for slug in slugs:
            brand_assign(brand=brands[slug], assignee=user, actor=system)
    people = {}
    for username in ("manager", "manager2", "legal", "legal2", "admin"):
        user = User.objects.get(username=username)
        user.set_password(PASSWORD)
        user.save()
        people[username] = user
    scopes = {
        "manager": ["read", "write", "approve"],
        "manager2": ["read", "write", "approve"],
        "legal": ["read", "approve"],
        "legal2": ["read", "approve"],
        "admin": ["read", "write"],
    }
    tokens = {
        name: api_token_create(owner=people[name], name="soak", scopes=s, by=people[name])[1]
        for name, s in scopes.items()
    }
    ingestion = {
        slug: ingestion_token_create(brand=brand, name="soak feed", user=admin)[1]
        for slug, brand in brands.items()
    }
    now = timezone.now()
    start = (now - timedelta(hours=feed_hours + 24)).replace(minute=0, second=0, microsecond=0)
    if now - start > timedelta(days=85):
        raise SystemExit("This run is too long for the telemetry feed (events ≤ 90 days old).")
    feed: dict[str, list[int]] = {}
    owner = people["manager"]
    for slug, brand in brands.items():
        feed[slug] = []
        for i in range(FEED_CAMPAIGNS):
            brief = Brief.objects.create(
                brand=brand,
                created_by=owner,
                title=f"Soak feed {slug} {i}",
                objective="Telemetry through the API",
                channels=["social_ads", "search_ads"],
                budget=Decimal("900000"),
                deadline=(now + timedelta(days=60)).date(),
                success_metric="cpa",
                success_target=Decimal("28"),
            )
            campaign = Campaign.objects.create(
                brand=brand,
                brief=brief,
                name=brief.title,
                owner=owner,
                phase="monitoring",
                phase_changed_at=start,
                launched_at=start,
                budget_total=brief.budget,
            )
            feed[slug].append(campaign.pk)
    visible = {
        name: list(
            Campaign.objects.filter(brand_id__in=policies.visible_brand_ids(user))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for name, user in people.items()
    }
    return {
        "visible": visible,
        "tokens": tokens,
        "ingestion": ingestion,
        "feed": feed,
        "feed_start": start,
        "user_ids": {name: user.pk for name, user in people.items()},
        "brand_ids": {slug: b.pk for slug, b in brands.items()},
    }


# --------------------------------------------------------------------------- the stack


class Stack:
    """``manage.py runstack`` in its own session; its children found and remembered so
    every one is stopped at the end (honcho starts each in a session of its own)."""

    def __init__(self, trace: bool = False, env: dict[str, str] | None = None) -> None:
        self.log_path = VAR_DIR / "stack.log"
        self.trace = trace
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.known: dict[int, str] = {}

    def start(self) -> None:
        env = {**soak_env(), **self.extra_env}
        if self.trace:
            TRACE_DIR.mkdir(parents=True, exist_ok=True)
            for old in TRACE_DIR.glob("*"):
                old.unlink()
            env["PYTHONPATH"] = str(ROOT / "bench" / "soak_trace")
            env["CT_SOAK_TRACE_DIR"] = str(TRACE_DIR)
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runstack",
                "--no-seed",
                "--host",
                "127.0.0.1",
                "--port",
                str(PORT),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        needles = ("ready.", "beat: Starting", f"Uvicorn running on {BASE}")
        while time.monotonic() < deadline:
            self.processes()  # remember every child as soon as it exists
            text = self.log_path.read_text(errors="replace")
            if all(n in text for n in needles):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise SystemExit(f"The stack did not start:\n{self.log_path.read_text()[-4000:]}")

    def processes(self) -> dict[str, list[int]]:
        """The stack's processes by role: web, worker (main first, then pool
        children), beat."""
        import psutil

        roles: dict[str, list[int]] = {"web": [], "worker": [], "beat": []}
        if self.process is None:
            return roles
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return roles
        parents = {}
        for child in children:
            try:
                cmdline = " ".join(child.cmdline())
                parents[child.pid] = child.ppid()
            except psutil.Error:
                continue
            self.known[child.pid] = cmdline
        workers = [
            p
            for p in parents
            if " worker" in self.known[p]
            and "celery" in self.known[p]
            and not self.known[p].startswith("/bin/sh")
        ]
        for pid in parents:
            cmdline = self.known[pid]
            if cmdline.startswith("/bin/sh"):
                continue
            if "uvicorn" in cmdline:
                roles["web"].append(pid)
            elif "celery" in cmdline and " beat" in cmdline:
                roles["beat"].append(pid)
        # The worker's main process first, then its pool children.
        roles["worker"] = sorted(workers, key=lambda p: parents[p] in workers)
        return roles

    def stop(self) -> None:
        if self.process is None:
            return
        self.processes()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # as Ctrl-C does: honcho stops all
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Anything the supervisor left behind (its children run in their own sessions).
        time.sleep(1)
        for pid in self.known:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                time.sleep(0.5 if sig == signal.SIGTERM else 0)
        self.log.close()


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


# --------------------------------------------------------------------------- the load


@dataclass
class Tally:
    requests: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    late: Counter = field(default_factory=Counter)
    accepted_events: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    briefs: list[tuple[int, int]] = field(default_factory=list)
    decisions: list[tuple[int, str, int]] = field(default_factory=list)
    pauses: list[int] = field(default_factory=list)
    ws_opened: int = 0
    ws_messages: int = 0
    ws_closed_early: int = 0
    settled_by_timer: int = 0

    def error(self, what: str) -> None:
        self.errors.append(what)
        if len(self.errors) <= 20:
            print(f"  ERROR {what}", flush=True)


class Http:
    """Blocking HTTP on a thread pool (a few requests a second; urllib is enough)."""

    def __init__(self, tally: Tally, pool: ThreadPoolExecutor) -> None:
        self.tally = tally
        self.pool = pool

    async def call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        opener: urllib.request.OpenerDirector | None = None,
        token: str | None = None,
        body: dict | bytes | None = None,
        form: bool = False,
        expect: tuple[int, ...] = (200,),
    ) -> tuple[int, bytes]:
        headers = {}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif isinstance(body, bytes):
            data = body
            if form:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(BASE + path, data=data, headers=headers, method=method)
        open_ = (opener or urllib.request.build_opener()).open

        def run() -> tuple[int, bytes, float]:
            start = time.perf_counter()
            try:
                with open_(request, timeout=60) as response:
                    return response.status, response.read(), time.perf_counter() - start
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read(), time.perf_counter() - start

        self.tally.requests[kind] += 1
        try:
            status, content, seconds = await asyncio.get_running_loop().run_in_executor(
                self.pool, run
            )
        except Exception as exc:
            self.tally.error(f"{kind} {method} {path}: {exc!r}")
            return 0, b""
        self.tally.latency[kind].append(seconds * 1000)
        if status not in expect:
            self.tally.error(f"{kind} {method} {path}: HTTP {status} {content[:300]!r}")
        return status, content


WS_CONNECT = re.compile(r'ws-connect="([^"]+)"')


class Browser:
    """One logged-in person in a browser: pages, each with its live socket."""

    def __init__(self, name: str, http: Http, tally: Tally, campaigns: list[int]) -> None:
        self.name = name
        self.http = http
        self.tally = tally
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.campaigns = campaigns
        self.socket = None
        self.reader: asyncio.Task | None = None
        self.step = 0

    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    async def login(self) -> None:
        status, page = await self.http.call("login", "GET", "/accounts/login/", opener=self.opener)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not token:
            raise SystemExit(f"no login form for {self.name}")
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token.group(1).decode(),
                "username": self.name,
                "password": PASSWORD,
            }
        ).encode()
        status, page = await self.http.call(
            "login", "POST", "/accounts/login/", opener=self.opener, body=form, form=True
        )
        if b"Control tower" not in page or "sessionid" not in self.cookie():
            raise SystemExit(f"{self.name} could not log in (HTTP {status})")

    def next_page(self, rng: random.Random) -> str:
        self.step += 1
        kind = self.step % 4
        if kind == 0 or not self.campaigns:
            return "/"
        if kind == 1:
            return f"/campaigns/{rng.choice(self.campaigns)}/"
        if kind == 2:
            return "/approvals/"
        return rng.choice(["/?sort=-budget_consumed", "/campaigns/briefs/", "/?page=2"])

    async def view(self, rng: random.Random) -> None:
        path = self.next_page(rng)
        await self.close_socket()
        status, page = await self.http.call("page", "GET", path, opener=self.opener)
        if status != 200:
            return
        match = WS_CONNECT.search(page.decode(errors="replace"))
        if not match:
            self.tally.error(f"page {path}: no live socket on the page")
            return
        self.socket = await open_socket(self.tally, html.unescape(match.group(1)), self.cookie())
        if self.socket is not None:
            self.reader = asyncio.create_task(read_socket(self.tally, self.socket, early=False))

    async def close_socket(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            self.socket = None
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)
            self.reader = None


async def open_socket(tally: Tally, path: str, cookie: str):
    from websockets.asyncio.client import connect

    tally.requests["socket"] += 1
    start = time.perf_counter()
    try:
        ws = await connect(
            f"ws://127.0.0.1:{PORT}{path}",
            additional_headers={"Cookie": cookie, "Origin": BASE},
            max_queue=None,
            open_timeout=30,
        )
    except Exception as exc:
        tally.error(f"socket {path}: could not open: {exc!r}")
        return None
    tally.ws_opened += 1
    tally.latency["socket"].append((time.perf_counter() - start) * 1000)
    return ws


async def read_socket(tally: Tally, ws, *, early: bool) -> None:
    """Count what arrives. ``early``: the socket must stay open until the soak closes it."""
    from websockets.exceptions import ConnectionClosed

    try:
        async for _ in ws:
            tally.ws_messages += 1
    except ConnectionClosed:
        pass
    if early and not getattr(ws, "_soak_closing", False):
        tally.ws_closed_early += 1
        tally.error(f"a live socket closed: code {ws.close_code} {ws.close_reason!r}")


class Feed:
    """Sandbox-market telemetry for the fed campaigns, posted hour by hour."""

    def __init__(self, setup: dict, tally: Tally) -> None:
        from agents.connectors.market import Fault, MarketSpec, MarketState

        self.setup = setup
        self.tally = tally
        self.spec = MarketSpec.default()
        self.at = {slug: setup["feed_start"] for slug in setup["feed"]}
        self.state = {}
        self.rng = {}
        self.faults = {}
        for _slug, ids in setup["feed"].items():
            for i, cid in enumerate(ids):
                self.state[cid] = MarketState.initial(self.spec)
                self.rng[cid] = random.Random(cid)
                kinds = ("cpm_spike", "conversion_drop", "broken_link", "audience_fatigue")
                # One line in five misbehaves for a day, a day and a half after the start.
                self.faults[cid] = (
                    [Fault(kinds[i % 4], setup["feed_start"] + timedelta(hours=36 + i), 24)]
                    if i % 5 == 0
                    else []
                )
        self.previous: dict[str, list[dict]] = {}

    def batch(self, slug: str) -> tuple[list[dict], int]:
        from django.utils import timezone

        from agents.connectors.market import next_buckets

        events = []
        for _ in range(FEED_HOURS_PER_BATCH):
            at = self.at[slug]
            for cid in self.setup["feed"][slug]:
                buckets, self.state[cid] = next_buckets(
                    self.spec,
                    self.state[cid],
                    timezone.localtime(at),
                    self.rng[cid],
                    self.faults[cid],
                )
                for b in buckets:
                    events.append(
                        {
                            "event_id": f"soak-{cid}-{b.channel}-{b.variant}-{at:%Y%m%d%H}",
                            "campaign_id": cid,
                            "channel": b.channel,
                            "variant": b.variant,
                            "occurred_at": at.isoformat(),
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
            self.at[slug] = at + timedelta(hours=1)
        again = self.previous.get(slug, [])[:DUPLICATES_PER_BATCH]
        self.previous[slug] = events
        return events + again, len(again)

    async def post(self, http: Http, slug: str) -> None:
        events, repeated = self.batch(slug)
        status, content = await http.call(
            "telemetry",
            "POST",
            "/api/v1/telemetry/events",
            token=self.setup["ingestion"][slug],
            body={"events": events},
        )
        if status != 200:
            return
        answer = json.loads(content)
        if answer["received"] != len(events) or answer["stored"] + answer["duplicates"] != len(
            events
        ):
            self.tally.error(f"telemetry answered {answer} for {len(events)} events")
            return
        if answer["duplicates"] != repeated:
            self.tally.error(f"telemetry: {answer['duplicates']} duplicates, {repeated} resent")
        brand_id = self.setup["brand_ids"][slug]
        self.tally.accepted_events[brand_id].update(e["event_id"] for e in events)


BRIEF = {
    "objective": "Bring back lapsed subscribers with a refill offer",
    "audience": "Subscribers who lapsed in the last 6 months",
    "channels": ["email", "social_ads", "search_ads"],
    "budget": "8000",
    "success_metric": "cpa",
    "success_target": "22",
    "offer": "A free grinder with three bags",
    "required_claims": ["Roasted to order"],
}


class Load:
    def __init__(self, setup: dict, minutes: float, rate: float) -> None:
        self.setup = setup
        self.tally = Tally()
        self.pool = ThreadPoolExecutor(max_workers=24, thread_name_prefix="soak-http")
        self.http = Http(self.tally, self.pool)
        self.rng = random.Random(157)
        self.seconds = minutes * 60
        self.rate = rate
        self.feed = Feed(setup, self.tally)
        self.persistent: list = []
        self.readers: list[asyncio.Task] = []
        self.inflight: Counter = Counter()
        self.launched: dict[int, float] = {}  # campaign id → when the soak saw it go live
        self.briefs_sent = 0
        self.stopping = False

    async def every(self, kind: str, interval: float, op, *, offset: float = 0.0) -> None:
        """Open loop: op() starts every ``interval`` seconds whatever the last one's
        speed; at most 4 of a kind at once (beyond that a start is counted late), and one
        decider at a time (two people never race for the same item)."""
        interval /= self.rate
        start = time.monotonic() + offset
        n = 0
        tasks = set()
        while not self.stopping:
            at = start + n * interval
            n += 1
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.stopping or time.monotonic() >= self.end:
                break
            if self.inflight[kind] >= (1 if kind == "decide" else 4):
                self.tally.late[kind] += 1
                continue
            self.inflight[kind] += 1

            async def run():
                try:
                    await op()
                except Exception as exc:
                    self.tally.error(f"{kind}: {exc!r}")
                finally:
                    self.inflight[kind] -= 1

            task = asyncio.create_task(run())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def start(self) -> None:
        """Log everyone in and open the sockets that stay open (two per person)."""
        ids = self.setup["visible"]
        self.browsers = [
            Browser(name, self.http, self.tally, ids[name])
            for name in ("manager", "manager", "manager2", "legal", "legal2", "admin")
        ]
        for browser in self.browsers:
            await browser.login()
        for browser in self.browsers:
            for path in ("/", f"/campaigns/{browser.campaigns[0]}/"):
                _status, page = await self.http.call("page", "GET", path, opener=browser.opener)
                url = html.unescape(WS_CONNECT.search(page.decode()).group(1))
                ws = await open_socket(self.tally, url, browser.cookie())
                if ws is None:
                    raise SystemExit("a live socket did not open")
                self.persistent.append(ws)
                self.readers.append(asyncio.create_task(read_socket(self.tally, ws, early=True)))

    async def run(self) -> None:
        self.end = time.monotonic() + self.seconds
        streams = [
            self.every("page", EVERY["page"], partial_view(b, self.rng), offset=i * 0.67)
            for i, b in enumerate(self.browsers)
        ]
        api_calls = [
            ("manager", "/api/v1/campaigns?limit=50"),
            ("manager2", "/api/v1/approvals"),
            ("legal", "/api/v1/approvals"),
            ("admin", "/api/v1/campaigns?phase=monitoring"),
            ("manager", "/api/v1/briefs?limit=20"),
            ("legal2", "/api/v1/me"),
            ("manager2", "/api/v1/campaigns?brand=lumen"),
            ("admin", "/api/v1/approvals?decided=true"),
        ]
        api_iter = iter(range(10**9))

        async def api_list():
            who, path = api_calls[next(api_iter) % len(api_calls)]
            await self.http.call("api", "GET", path, token=self.setup["tokens"][who])

        slugs = sorted(self.setup["feed"])
        feed_iter = iter(range(10**9))

        async def telemetry():
            await self.feed.post(self.http, slugs[next(feed_iter) % len(slugs)])

        streams += [
            self.every("api", EVERY["api"], api_list, offset=0.3),
            self.every("telemetry", EVERY["telemetry"], telemetry, offset=0.9),
            self.every("brief", EVERY["brief"], self.brief, offset=5),
            self.every("decide", EVERY["decide"], self.decide, offset=2.1),
            self.every("pause", EVERY["pause"], self.pause, offset=7.3),
        ]
        await asyncio.gather(*streams)

    async def brief(self) -> None:
        self.briefs_sent += 1
        n = self.briefs_sent
        who, slug = (("manager", "northwind"), ("manager2", "lumen"))[n % 2]
        from django.utils import timezone

        body = {
            **BRIEF,
            "brand": slug,
            "title": f"Soak brief {n}",
            "deadline": (timezone.localdate() + timedelta(days=45)).isoformat(),
        }
        status, content = await self.http.call(
            "brief",
            "POST",
            "/api/v1/briefs",
            token=self.setup["tokens"][who],
            body=body,
            expect=(201,),
        )
        if status == 201:
            answer = json.loads(content)
            self.tally.briefs.append((answer["brief_id"], answer["campaign_id"]))

    # The managers' queues fill faster than legal's (every draft; legal: claims only).
    deciders = ["manager", "manager2", "legal", "manager", "manager2", "legal2"]
    decide_turn = 0

    async def decide(self) -> None:
        who = self.deciders[self.decide_turn % len(self.deciders)]
        self.decide_turn += 1
        token = self.setup["tokens"][who]
        status, content = await self.http.call("decide", "GET", "/api/v1/approvals", token=token)
        if status != 200:
            return
        pending = [a for a in json.loads(content)["results"] if a["status"] == "pending"]
        # One item, or a few when this queue has fallen behind: queues stay short, as
        # with people who keep up with their work.
        for item in pending[: min(3, 1 + len(pending) // 6)]:
            await self.decide_one(who, token, item)

    async def decide_one(self, who: str, token: str, item: dict) -> None:
        roll = self.rng.random()
        decision = "approve" if roll < 0.75 else "reject" if roll < 0.9 else "request_changes"
        expected = {
            "approve": "approved",
            "reject": "rejected",
            "request_changes": "changes_requested",
        }[decision]
        status, content = await self.http.call(
            "decide",
            "POST",
            f"/api/v1/approvals/{item['id']}/decide",
            token=token,
            body={"decision": decision, "note": "Soak: decided by the load"},
            expect=(200, 409),
        )
        if status == 409:
            # Its SLA timer settled it by default between the list and the decision (the
            # API says so with a 409): expected; anything else is not.
            if b"by the system" in content:
                self.tally.settled_by_timer += 1
            else:
                self.tally.error(f"decide {item['id']}: HTTP 409 {content[:200]!r}")
        if status == 200:
            self.tally.decisions.append((item["id"], expected, self.setup["user_ids"][who]))
            if decision == "approve" and item["action_type"] == "launch_campaign":
                self.launched[item["campaign_id"]] = time.monotonic()

    async def pause(self) -> None:
        """Pause the campaign launched longest ago, once it has been live a while."""
        due = [c for c, at in self.launched.items() if time.monotonic() - at > LIVE_FOR]
        if not due:
            return
        cid = min(due, key=self.launched.get)
        del self.launched[cid]
        token = self.setup["tokens"]["manager"]
        status, content = await self.http.call(
            "pause", "GET", f"/api/v1/campaigns/{cid}", token=token
        )
        if status != 200 or json.loads(content)["phase"] not in ("execution", "monitoring"):
            return
        status, _ = await self.http.call(
            "pause",
            "POST",
            f"/api/v1/campaigns/{cid}/pause",
            token=token,
            body={"reason": "Soak: live long enough"},
        )
        if status == 200:
            self.tally.pauses.append(cid)

    async def close(self) -> None:
        self.stopping = True
        for browser in self.browsers:
            await browser.close_socket()
        for ws in self.persistent:
            ws._soak_closing = True
            await ws.close()
        await asyncio.gather(*self.readers, return_exceptions=True)
        self.pool.shutdown(wait=True)


def partial_view(browser: Browser, rng: random.Random):
    async def op():
        await browser.view(rng)

    return op


# --------------------------------------------------------------------------- checks


def count_lost(tally: Tally) -> dict[str, tuple[int, int]]:
    """(accepted, lost) per kind, counted in the database."""
    from django.db import connections

    from approvals.models import ApprovalRequest
    from campaigns.models import Campaign
    from governance.models import AuditEvent
    from monitoring.models import TelemetryEvent

    connections.close_all()
    lost = {}
    found = set(
        Campaign.objects.filter(pk__in=[c for _, c in tally.briefs]).values_list("pk", "brief_id")
    )
    lost["briefs (campaign exists)"] = (
        len(tally.briefs),
        sum(1 for b, c in tally.briefs if (c, b) not in found),
    )
    accepted = stored = 0
    for brand_id, ids in tally.accepted_events.items():
        ids = sorted(ids)
        accepted += len(ids)
        for i in range(0, len(ids), 5000):
            stored += TelemetryEvent.objects.filter(
                brand_id=brand_id, event_id__in=ids[i : i + 5000]
            ).count()
    lost["telemetry events"] = (accepted, accepted - stored)
    rows = {
        a.pk: a
        for a in ApprovalRequest.objects.filter(
            pk__in=[d[0] for d in tally.decisions]
        ).select_related("decision")
    }
    missing = 0
    for pk, status, user_id in tally.decisions:
        row = rows.get(pk)
        if (
            row is None
            or row.status != status
            or row.decided_by_id != user_id
            or row.decision is None
        ):
            missing += 1
    lost["decisions"] = (len(tally.decisions), missing)
    paused = set(
        AuditEvent.objects.filter(
            action="campaign.phase_changed", data__to="paused", campaign_id__in=tally.pauses
        ).values_list("campaign_id", flat=True)
    )
    lost["pauses"] = (len(tally.pauses), sum(1 for p in tally.pauses if p not in paused))
    return lost


# --------------------------------------------------------------------------- main


async def soak(args, setup: dict, stack: Stack) -> tuple[Tally, list, dict]:
    load = Load(setup, args.minutes, args.rate)
    await load.start()
    samples: list[tuple[float, dict[str, list[tuple[int, int]]]]] = []
    t0 = time.monotonic()
    # --trace: the web process counts its objects and starts tracing at the end of the
    # warm-up, and writes what it holds since half-way and at the end.
    marks = [args.warmup * 60, (args.warmup * 60 + args.minutes * 60) / 2]

    def sample(last: bool = False) -> None:
        roles = stack.processes()
        taken = {role: [(pid, rss_kib(pid)) for pid in pids] for role, pids in roles.items()}
        samples.append((time.monotonic() - t0, taken))
        t = samples[-1][0]
        if args.memstats:
            for pid in roles["web"]:
                os.kill(pid, signal.SIGUSR1)
        if args.trace and (last or (marks and t >= marks[0] - 1)):
            if marks and not last:
                marks.pop(0)
            for pid in roles["web"]:
                os.kill(pid, signal.SIGUSR2)
        web = sum(r for _, r in taken["web"]) / 1024
        worker = sum(r for _, r in taken["worker"]) / 1024
        total = sum(load.tally.requests.values())
        print(
            f"[{t / 60:5.1f} min] web {web:6.1f} MiB  worker+children {worker:6.1f} MiB  "
            f"requests {total:>6}  errors {len(load.tally.errors)}",
            flush=True,
        )

    async def sampler():
        n = 0
        while True:
            sample()
            n += 1
            delay = t0 + n * args.sample_seconds - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    sampling = asyncio.create_task(sampler())
    try:
        await load.run()
    finally:
        sampling.cancel()
        sample(last=True)  # the end of the load
        await load.close()
    return load.tally, samples, {"briefs_sent": load.briefs_sent}


def log_problems(path: Path) -> list[str]:
    problems = []
    for line in path.read_text(errors="replace").splitlines():
        if "Traceback" in line or " ERROR " in line or " CRITICAL " in line or "] ERROR/" in line:
            problems.append(line.strip()[:300])
    return problems


def report(args, tally: Tally, samples: list, lost: dict, log_lines: list[str], wall: float):
    print("\n=== RSS over time (MiB; worker = main + pool children) ===")
    print(f"{'min':>6} {'web':>8} {'worker':>8} {'w-main':>8} {'w-kids':>8} {'beat':>8}")
    series = {"web": [], "worker": []}
    for t, taken in samples:
        web = sum(r for _, r in taken["web"]) / 1024
        worker = sum(r for _, r in taken["worker"]) / 1024
        main = (taken["worker"][0][1] if taken["worker"] else 0) / 1024
        beat = sum(r for _, r in taken["beat"]) / 1024
        series["web"].append((t, web))
        series["worker"].append((t, worker))
        print(
            f"{t / 60:6.1f} {web:8.1f} {worker:8.1f} {main:8.1f} {worker - main:8.1f} {beat:8.1f}"
        )
    warmup = args.warmup * 60
    print(f"\n=== growth after the warm-up ({args.warmup:g} min) ===")
    verdict = True
    for role, values in series.items():
        after = [v for t, v in values if t >= warmup - 1]
        base = after[0] if after else float("nan")
        end = values[-1][1]
        growth = (end - base) / base * 100
        peak = max(v for _, v in values if t >= warmup - 1) if after else float("nan")
        verdict &= growth < 10
        print(
            f"{role:<7} start {values[0][1]:7.1f} MiB  after warm-up {base:7.1f} MiB  "
            f"end {end:7.1f} MiB  max after warm-up {peak:7.1f} MiB  growth {growth:+5.1f} %"
        )
    print("\n=== requests ===")
    total = sum(tally.requests.values())
    print(f"{'kind':<10} {'count':>7} {'per s':>6} {'median ms':>10} {'p95 ms':>8} {'late':>5}")
    for kind, n in sorted(tally.requests.items()):
        lat = tally.latency.get(kind) or [float("nan")]
        print(
            f"{kind:<10} {n:>7} {n / wall:6.2f} {statistics.median(lat):10.1f} "
            f"{percentile(lat, 95):8.1f} {tally.late[kind]:>5}"
        )
    http = total - tally.requests["socket"]
    print(
        f"total {total} in {wall / 60:.1f} min: {http / wall:.2f} HTTP requests/s + "
        f"{tally.requests['socket'] / wall:.2f} socket opens/s; {tally.ws_messages} socket "
        f"messages received; telemetry events accepted "
        f"{sum(len(v) for v in tally.accepted_events.values())}; briefs {len(tally.briefs)}, "
        f"decisions {len(tally.decisions)} (+{tally.settled_by_timer} settled by their "
        f"SLA timer first: 409, expected), pauses {len(tally.pauses)}"
    )
    print("\n=== errors ===")
    print(f"unexpected answers / failed requests: {len(tally.errors)}")
    print(f"live sockets closed before the end: {tally.ws_closed_early}")
    print(f"errors in the stack's log: {len(log_lines)}")
    for line in (tally.errors + log_lines)[:15]:
        print("  ", line[:300])
    print("\n=== lost (counted in the database) ===")
    for kind, (accepted, missing) in lost.items():
        print(f"{kind:<26} accepted {accepted:>7}  lost {missing}")
    errors = len(tally.errors) + len(log_lines)
    lost_total = sum(m for _, m in lost.values())
    print(
        f"\nRESULT: growth {'< 10 %' if verdict else '≥ 10 %'}, errors {errors}, lost {lost_total}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=None, help="default: 5, or a sixth")
    parser.add_argument("--sample-seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=1.0, help="scale every fixed rate")
    parser.add_argument("--memstats", action="store_true", help="the web process's allocators")
    parser.add_argument("--trace", action="store_true", help="tracemalloc in the web process")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="for the stack"
    )
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = min(5.0, args.minutes / 6)
    print(f"soak: {args.minutes:g} min, warm-up {args.warmup:g} min, port {PORT}, db {SOAK_DB}")
    print(
        "fixed rate: "
        + ", ".join(f"{kind} every {every / args.rate:g} s" for kind, every in EVERY.items())
        + f" (page: each of 6 browsers); {len(args.env)} extra setting(s) {args.env or ''}"
    )
    batches = args.minutes * 60 * args.rate / EVERY["telemetry"] / 2  # per brand
    setup = prepare(feed_hours=int(batches + 2) * FEED_HOURS_PER_BATCH)
    args.memstats |= args.trace
    stack = Stack(trace=args.memstats, env=dict(kv.split("=", 1) for kv in args.env))

    def stop_on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)
    try:
        stack.start()
        print(f"stack up: {stack.processes()}", flush=True)
        t = time.monotonic()
        tally, samples, _ = asyncio.run(soak(args, setup, stack))
        wall = time.monotonic() - t
        time.sleep(5)  # let the last commits land
        if args.trace:  # the end's snapshot is written (counts last, after the snapshot)
            deadline = time.monotonic() + 300
            while len(list(TRACE_DIR.glob("web-*.json"))) < 3 and time.monotonic() < deadline:
                time.sleep(2)
    finally:
        stack.stop()
    lost = count_lost(tally)
    report(args, tally, samples, lost, log_problems(stack.log_path), wall)
    if args.memstats:
        memstats_report(samples)
    if args.trace:
        trace_report(args, samples)


def memstats_report(samples: list) -> None:
    """Where the web process's memory was at each sample (``soak_trace/sitecustomize``)."""
    path = TRACE_DIR / "memstats.jsonl"
    if not path.exists():
        return
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    print("\n=== web process: where the memory is (MiB) ===")
    print(
        f"{'min':>5} {'RSS':>7} {'glibc used':>10} {'glibc free':>10} {'mmap':>6} "
        f"{'py arenas':>9} {'py blocks':>9} {'gc objects':>10} {'threads':>7}"
    )
    mib = 2**20
    for (t, taken), m in zip(samples, lines, strict=False):
        rss = sum(r for _, r in taken["web"]) / 1024
        arenas = (m["arenas_now"] or 0) * 1024 * 1024 / mib  # 1 MiB arenas (3.10+)
        print(
            f"{t / 60:5.1f} {rss:7.1f} {m['glibc_in_use'] / mib:10.1f} "
            f"{m['glibc_free'] / mib:10.1f} {m['glibc_mmap'] / mib:6.1f} {arenas:9.1f} "
            f"{m['py_blocks']:9d} {m['gc_objects']:10d} {m['threads']:7d}"
        )


def trace_report(args, samples: list) -> None:
    """What grew in the web process after the warm-up: Python allocations made since
    and still alive, by where they were made (tracemalloc), and live objects by type."""
    import tracemalloc

    snaps = sorted(TRACE_DIR.glob("web-*.snap"))
    counts = sorted(TRACE_DIR.glob("web-*.json"))
    if not snaps:
        print("no tracemalloc snapshot was written")
        return
    last = tracemalloc.Snapshot.load(str(snaps[-1]))
    print(
        f"\n=== web process: allocated after the warm-up, alive at the end ({snaps[-1].name}) ==="
    )
    for label, key, n in (("by line", "lineno", 15), ("by traceback", "traceback", 8)):
        print(f"-- {label}")
        for stat in last.statistics(key)[:n]:
            print(f"{stat.size / 1024:10.1f} KiB {stat.count:8d} blocks")
            frames = stat.traceback.format()
            for line in frames[-20:] if key == "traceback" else frames[:1]:
                print("      " + line.rstrip())
    if len(snaps) >= 2:
        print(f"-- grew from {snaps[-2].name} (half-way) to the end, by line")
        before = tracemalloc.Snapshot.load(str(snaps[-2]))
        for stat in last.compare_to(before, "lineno")[:12]:
            print(
                f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks  "
                f"{stat.traceback.format()[0].strip()}"
            )
    ja, jb = (json.loads(p.read_text()) for p in (counts[0], counts[-1]))
    print(
        f"-- traced now {jb['traced'] / 2**20:.1f} MiB; live objects "
        f"{ja['objects']} → {jb['objects']}"
    )
    growth = Counter(jb["types"])
    growth.subtract(ja["types"])
    print("-- live objects by type, largest growth since the warm-up")
    for name, n in growth.most_common(20):
        print(f"{n:+9d}  {name}  ({jb['types'].get(name, 0)})")


if __name__ == "__main__":
    main()
