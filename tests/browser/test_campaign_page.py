"""The campaign page leads with what matters: on a demo campaign, at 1440 x 900, what
needs a person, the state, the money and the charts come first; the agents' work, the
experiments, the report and the records fold below, open while the agents plan."""

import subprocess
import sys

import pytest
from django.contrib.auth.models import Group

from campaigns.demo import DEMO_LOGINS
from campaigns.models import Campaign
from governance.domain.roles import Role
from tests.stack import ROOT, asgi_server, process_env

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

PASSWORDS = {login.username: login.password for login in DEMO_LOGINS}


def open_as_manager(chromium, base_url):
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(base_url + "/")
    page.get_by_label("Username").fill("manager")
    page.get_by_label("Password").fill(PASSWORDS["manager"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base_url + "/")
    return page


def seed_the_demo():
    """The demo, seeded as `make run` does (in its own process: the browser's event loop
    runs in this one). The roles' groups come from a migration, which an earlier
    transactional test's flush may have emptied."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        cwd=ROOT,
        env=process_env(DEBUG="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def test_the_charts_are_above_the_fold_and_the_records_fold(tmp_path, chromium, artifacts_dir):
    seed_the_demo()
    live = Campaign.objects.get(name="Sleep Tracker Spring Push")  # monitoring, spending
    planning = Campaign.objects.filter(phase="briefing").first()
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page = open_as_manager(chromium, base_url)
        page.goto(f"{base_url}/campaigns/{live.pk}/")
        chart = page.locator("#chart-pacing")
        chart.locator(".main-svg").first.wait_for(timeout=15_000)
        page.screenshot(path=str(artifacts_dir / "campaign-page-1440.png"))
        top = chart.bounding_box()["y"]
        assert top < 1200, f"the pacing chart starts {top:.0f} px down"
        assert page.locator("#chart-performance").bounding_box()["y"] < 1800
        # A live campaign's records are folded; their summaries say what is inside.
        for fold in ("plan", "agent-work", "brief", "activity", "history"):
            assert page.locator(f"#fold-{fold}").get_attribute("open") is None, fold
        page.locator("#fold-agent-work > summary").click()
        page.locator("#agent-work").wait_for(state="visible")
        assert page.locator("#fold-agent-work").get_attribute("open") is not None

        # While the agents plan, their plan and work are open.
        page.goto(f"{base_url}/campaigns/{planning.pk}/")
        assert page.locator("#fold-plan").get_attribute("open") is not None
        assert page.locator("#fold-agent-work").get_attribute("open") is not None
        page.screenshot(path=str(artifacts_dir / "campaign-page-planning.png"), full_page=True)
