"""Many at once (issue 13): ten briefs for one brand, posted together through the real API,
all get their drafts from two real Celery workers — with no beat, so nothing leans on the
reaper — and no worker or request meets a deadlock on the way."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from agents.models import AgentRun, Handoff
from approvals.models import ApprovalRequest
from governance.domain.roles import Role
from governance.models import AuditEvent
from tests.api.helpers import brief_body, token_for
from tests.factories import BrandFactory, UserFactory
from tests.stack import RUN_POOL, asgi_server, celery_worker

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

BRIEFS = 10
UNFINISHED = ("queued", "running")
#: From the last response to every campaign's drafts (seconds). The whole test takes
#: 30-55 s on a shared 2-core machine; before the fix, runs waited for a reaper (600 s).
DRAFTS_WITHIN = 60


def wait_until(check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()


def campaigns_with_drafts(campaign_ids):
    drafted = set(
        Handoff.objects.filter(
            campaign_id__in=campaign_ids, kind="drafts", status="accepted"
        ).values_list("campaign_id", flat=True)
    )
    drafted |= set(
        ApprovalRequest.objects.filter(
            campaign_id__in=campaign_ids, action_type="publish_content"
        ).values_list("campaign_id", flat=True)
    )
    return drafted


def test_ten_briefs_for_one_brand_posted_at_once_all_reach_drafts(tmp_path):
    brand = BrandFactory(name="Northwind", slug="northwind")
    manager = UserFactory(username="mia", role=Role.MANAGER, brands=[brand])
    headers = {"Authorization": f"Bearer {token_for(manager, scopes=('read', 'write'))}"}

    with (
        asgi_server(tmp_path / "uvicorn.log") as base_url,
        celery_worker(tmp_path / "worker-1.log", name="one", **RUN_POOL),
        celery_worker(tmp_path / "worker-2.log", name="two", purge=False, **RUN_POOL),
    ):
        start = threading.Barrier(BRIEFS)

        def post(n):
            start.wait()  # every request leaves at the same moment
            return requests.post(
                f"{base_url}/api/v1/briefs",
                json=brief_body("northwind", title=f"Brief {n}"),
                headers=headers,
                timeout=60,
            )

        with ThreadPoolExecutor(BRIEFS) as pool:
            responses = list(pool.map(post, range(BRIEFS)))
        created = [r.json()["campaign_id"] for r in responses if r.status_code == 201]
        campaign_ids = set(created)

        drafted = wait_until(
            lambda: campaigns_with_drafts(campaign_ids) == campaign_ids, DRAFTS_WITHIN
        )
        # What follows the drafts (experiment designs) finishes too: nothing is stranded.
        wait_until(
            lambda: not AgentRun.objects.filter(status__in=UNFINISHED).exists(),
            20 if drafted else 0,
        )

    # Everything that went wrong, so one run of the test shows every failure at once.
    logs = "\n".join(log.read_text(errors="replace") for log in tmp_path.glob("*.log"))
    runs = list(AgentRun.objects.order_by("pk").values("key", "status", "attempts"))
    problems = {
        "HTTP errors": [(r.status_code, r.text[:200]) for r in responses if r.status_code != 201],
        "campaigns without drafts": sorted(campaign_ids - campaigns_with_drafts(campaign_ids)),
        "runs left unfinished": [r for r in runs if r["status"] in UNFINISHED],
        "runs that did not succeed": [
            r for r in runs if r["status"] not in (*UNFINISHED, "succeeded")
        ],
        # Every run was done by its first task delivery: no reaper, no second attempt.
        "runs tried more than once": [r for r in runs if r["attempts"] > 1],
        "runs reaped": list(
            AuditEvent.objects.filter(action="agent.run_reaped").values_list("object_id", flat=True)
        ),
        "deadlocks (workers and web)": logs.count("deadlock detected"),
    }
    assert len(created) == BRIEFS and not any(problems.values()), problems
