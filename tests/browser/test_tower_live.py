"""What a person sees on the tower, in Debian's Chromium against uvicorn serving the app."""

import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.factories import CampaignFactory
from tests.stack import ROOT, asgi_server, free_port, process_env

pytestmark = [
    pytest.mark.browser,
    pytest.mark.stack,
    pytest.mark.django_db(transaction=True),
]
PASSWORD = "correct-horse-battery-staple"  # tests.factories.PASSWORD


def log_in(browser, base_url, username):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(base_url + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base_url + "/")
    return page


def transition_in_another_process(campaign, phase, reason=""):
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "campaign_transition",
            str(campaign.pk),
            phase,
            "--user",
            "manager",
            "--reason",
            reason,
        ],
        cwd=ROOT,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def campaigns(manager, brand_a, brand_b):
    return {
        "a1": CampaignFactory(brief__brand=brand_a, brief__created_by=manager, name="Autumn Roast"),
        "a2": CampaignFactory(brief__brand=brand_a, brief__created_by=manager, name="Cold Brew"),
        "b1": CampaignFactory(brief__brand=brand_b, brief__created_by=manager, name="Sleep Push"),
    }


def test_a_change_from_another_process_appears_without_reload(
    tmp_path, chromium, artifacts_dir, manager, legal_a, campaigns
):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page = log_in(chromium, base_url, "manager")
        page.wait_for_selector('#live-status[data-state="live"]')
        page.evaluate("window.__sameDocument = true")
        row = page.locator(f"#tower-row-{campaigns['a1'].pk}")
        assert "Briefing" in row.locator(".cell-phase").inner_text()
        assert page.locator('[data-summary="escalated"]').inner_text() == "0"

        transition_in_another_process(campaigns["a1"], "execution")
        expect(page.locator(f"#tower-row-{campaigns['a1'].pk} .cell-phase")).to_contain_text(
            "Execution", timeout=5000
        )
        transition_in_another_process(campaigns["a1"], "escalated", reason="CPA spike")
        expect(page.locator('[data-summary="escalated"]')).to_have_text("1", timeout=5000)
        assert "Escalated" in row.locator(".cell-phase").inner_text()
        assert "Open" in row.locator(".cell-escalation").inner_text()
        assert page.evaluate("window.__sameDocument") is True  # no reload happened
        page.screenshot(path=str(artifacts_dir / "tower-manager-live.png"), full_page=True)

        legal = log_in(chromium, base_url, "legal-a")
        legal.wait_for_selector('#live-status[data-state="live"]')
        names = legal.locator("#tower-body th[scope=row] a").all_inner_texts()
        assert sorted(names) == ["Autumn Roast", "Cold Brew"]
        assert "Sleep Push" not in legal.content() and "Brand B" not in legal.content()
        # A change to brand B never reaches the legal reviewer's page.
        transition_in_another_process(campaigns["b1"], "execution")
        transition_in_another_process(campaigns["a2"], "execution")
        expect(legal.locator(f"#tower-row-{campaigns['a2'].pk} .cell-phase")).to_contain_text(
            "Execution", timeout=5000
        )
        assert "Sleep Push" not in legal.content()
        legal.screenshot(path=str(artifacts_dir / "tower-legal-reviewer.png"), full_page=True)


def test_a_dropped_socket_says_so_reconnects_and_resyncs(tmp_path, chromium, manager, campaigns):
    port = free_port()
    log = tmp_path / "uvicorn.log"
    with asgi_server(log, port=port) as base_url:
        page = log_in(chromium, base_url, "manager")
        page.wait_for_selector('#live-status[data-state="live"]')
        page.evaluate("window.__sameDocument = true")
    # The server is gone: the page says so.
    page.wait_for_selector('#live-status[data-state="down"]', timeout=10000)
    assert "reconnecting" in page.locator("#live-status").inner_text()
    # A change made while the page could not hear it...
    transition_in_another_process(campaigns["a2"], "execution")
    with asgi_server(log, port=port):
        # ...is on screen once the socket is back, without a reload.
        page.wait_for_selector('#live-status[data-state="live"]', timeout=20000)
        expect(page.locator(f"#tower-row-{campaigns['a2'].pk} .cell-phase")).to_contain_text(
            "Execution", timeout=5000
        )
        assert page.evaluate("window.__sameDocument") is True
