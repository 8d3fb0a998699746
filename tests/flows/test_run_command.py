"""`make run` on the embedded defaults: nothing configured, everything started, demo ready.

Runs ``manage.py runstack`` (what ``make run`` calls) with no DATABASE_URL and no
REDIS_URL, so it must bring up SQLite and the embedded Redis itself, then drives each demo
login in Chromium, and finally stops the whole process group with SIGINT, as Ctrl-C does.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from agents.demo import LEFT_FOR_THE_WORKER
from campaigns.demo import DEMO_LOGINS

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]
# Variables the test settings or the outer environment set that `make run` must not see.
SCRUB = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "CONTROLTOWER_CHANNEL_PREFIX",
    "CELERY_BROKER_URL",
}

EXPECTED_NAV = {
    "manager": [
        "Control tower",
        # The story's 3, 3 Cold Brew drafts, 5 or 6 lessons the paid-social tests taught
        # (see tests/campaigns/test_seed_demo.py), and the 6 the worker drafts for Heart
        # Health: checked below.
        "Approvals (N)",
        "Escalations (2)",
        "Briefs",
        "New brief",
        "Agents",
        "Brand memory",
        "Contacts",
    ],
    "legal": [
        "Control tower",
        "Approvals (1)",
        "Escalations (1)",  # Office Coffee's; Wellness is Lumen's
        "Briefs",
        "Agents",
        "Brand memory",
    ],
    "admin": [
        "Control tower",
        "Approvals",
        "Escalations (2)",
        "Briefs",
        "New brief",
        "Agents",
        "Brand memory",
        "Contacts",
        "Policies",
        "Webhooks",
        "Administration",
    ],
}
EXPECTED_NAV["admin2"] = EXPECTED_NAV["admin"]  # the second admin, for the two-person rule


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.fixture
def stack(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SCRUB}
    env.update({"DEBUG": "1", "CONTROLTOWER_VAR_DIR": str(tmp_path / "var")})
    log = (tmp_path / "run.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runstack", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield {
            "url": f"http://127.0.0.1:{port}",
            "process": process,
            "log": tmp_path / "run.log",
            "var": tmp_path / "var",
        }
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        # The embedded Redis runs in its own session; never leave it behind.
        subprocess.run(["pkill", "-f", str(tmp_path / "var" / "redis" / "redis.sock")], check=False)
        log.close()


def test_run_serves_the_demo_to_each_role_and_ctrl_c_stops_everything(
    stack, chromium, artifacts_dir
):
    seconds = wait_for(stack["url"] + "/accounts/login/", timeout=60)
    assert seconds < 60
    output = stack["log"].read_text()
    assert "Embedded Redis on" in output and str(stack["var"]) in output
    for login in DEMO_LOGINS:
        assert f"{login.username} / {login.password}" in output

    # The worker picks up the demo campaign left for it and the agents plan and draft it:
    # the manager watches it happen on the campaign page.
    context = chromium.new_context()
    page = context.new_page()
    page.goto(stack["url"] + "/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill("tower-manager-demo")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(stack["url"] + "/")
    page.get_by_role("link", name=LEFT_FOR_THE_WORKER[0]).click()
    page.locator("#agent-plan").get_by_text("By the planner").wait_for(timeout=60_000)
    page.locator("#agent-work .draft-list").first.wait_for(timeout=60_000)
    page.locator(".run-item-succeeded", has_text="Experimentation agent").wait_for(timeout=60_000)
    assert page.locator("#agent-work").get_by_text("Offline composer — built in").count() >= 3
    page.screenshot(path=str(artifacts_dir / "run-agents-at-work.png"), full_page=True)
    context.close()

    for login in DEMO_LOGINS:
        # Wide enough for the whole navigation on one line (narrower, it folds into a menu).
        context = chromium.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.goto(stack["url"] + "/")
        page.get_by_label("Username").fill(login.username)
        page.get_by_label("Password").fill(login.password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(stack["url"] + "/")
        nav = page.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()
        if login.username == "manager":
            approvals = next(label for label in nav if label.startswith("Approvals"))
            assert approvals in ("Approvals (17)", "Approvals (18)"), approvals
            nav[nav.index(approvals)] = "Approvals (N)"
        assert nav == EXPECTED_NAV[login.username]
        rows = page.locator("#tower-body tr").count()
        assert rows == (7 if login.username == "legal" else 12)
        page.screenshot(path=str(artifacts_dir / f"run-{login.username}-tower.png"), full_page=True)
        context.close()

    # The worker and beat are up too (their banners reach the shared log).
    output = stack["log"].read_text()
    assert "celery@" in output and "ready." in output
    assert "beat: Starting..." in output

    os.killpg(stack["process"].pid, signal.SIGINT)
    assert stack["process"].wait(timeout=30) is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(stack["process"].pid, 0)  # anything left in the process group?
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("processes were left running after SIGINT")
    redis_pids = subprocess.run(
        ["pgrep", "-f", str(stack["var"] / "redis" / "redis.sock")], capture_output=True, text=True
    ).stdout.split()
    assert redis_pids == [], "the embedded Redis was left running"
