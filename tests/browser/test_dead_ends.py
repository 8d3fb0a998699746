"""No dead ends, seen in Chromium: pages that are not the tower stay quiet while campaigns
and queues change (no htmx:oobErrorNoTarget), the error pages are the product's, the API
docs load nothing from the internet, and an empty brief shows every problem at once."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from approvals.services import action_propose
from campaigns.services import campaign_transition_phase
from governance.domain.audit import Actor
from tests.browser.test_tower_live import log_in, transition_in_another_process
from tests.factories import CampaignFactory
from tests.stack import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def watch(page):
    """Console errors, uncaught exceptions and failed requests of ``page``, as a list."""
    problems = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    return problems


def test_pages_that_are_not_the_tower_log_nothing_while_campaigns_change(
    tmp_path, chromium, manager, brand_a, campaign_a, artifacts_dir
):
    other = CampaignFactory(brief__brand=brand_a, brief__created_by=manager, name="Cold Brew")
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        first = log_in(chromium, base_url, "manager")
        pages, problems = [], []
        for path in (f"/campaigns/{campaign_a.pk}/", "/approvals/", "/campaigns/briefs/"):
            page = first.context.new_page()
            problems.append(watch(page))
            page.goto(base_url + path)
            page.locator('[data-nav="approvals"]').wait_for(state="attached")
            pages.append(page)
        first.close()
        pages[0].wait_for_timeout(1000)  # every socket is open
        # Pushes each page does not show: tower rows and brand counts (a phase change,
        # in this process and another), queue cards (a new approval) and their counts.
        transition_in_another_process(other, "execution")
        campaign_transition_phase(
            campaign_id=campaign_a.pk, to_phase="execution", actor=Actor.for_user(manager)
        )
        action_propose(
            campaign_id=other.pk,
            action="launch_campaign",
            payload={"reason": "Ready"},
            actor=Actor.for_agent("planner"),
            summary="Launch",
        )
        for page in pages:  # the pushes they do show still arrive
            expect(page.locator('[data-nav="approvals"]')).to_have_text(
                "Approvals (1)", timeout=5000
            )
        expect(pages[1].locator("#queue-items")).to_contain_text("Cold Brew", timeout=5000)
        pages[0].wait_for_timeout(1500)
        pages[1].screenshot(path=str(artifacts_dir / "dead-ends-queue-live.png"))
        assert problems == [[], [], []]


def test_the_404_and_403_pages_are_the_products(
    tmp_path, chromium, manager, legal_a, artifacts_dir
):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page = log_in(chromium, base_url, "manager")
        problems = watch(page)
        missing = []
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        page.goto(base_url + "/no-such-page/")
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "dead-ends-404.png"), full_page=True)
        page.get_by_role("link", name="Back to the control tower").click()
        page.wait_for_url(base_url + "/")
        # Only the page asked for was missing: the icon and every asset were found.
        assert missing == [base_url + "/no-such-page/"], missing
        assert [p for p in problems if "404" not in p] == []

        legal = log_in(chromium, base_url, "legal-a")
        legal.goto(base_url + "/contacts/")
        expect(legal.get_by_role("heading", name="You cannot open this page")).to_be_visible()
        expect(legal.locator("#error-reason")).to_have_text(
            "Only marketing managers and admins manage contacts."
        )
        legal.screenshot(path=str(artifacts_dir / "dead-ends-403.png"), full_page=True)

        anonymous = chromium.new_page()
        anonymous.goto(base_url + "/nothing/here/")
        expect(anonymous.locator("#error-login")).to_be_visible()
        anonymous.screenshot(path=str(artifacts_dir / "dead-ends-404-anonymous.png"))
        anonymous.close()


def test_the_api_docs_load_nothing_from_the_internet(tmp_path, chromium, manager, artifacts_dir):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        for path, ready in (("/api/v1/redoc/", ".api-content"), ("/api/v1/docs/", ".swagger-ui")):
            page = chromium.new_page()
            problems = watch(page)
            hosts = []
            page.on("request", lambda r, hosts=hosts: hosts.append(urlparse(r.url).netloc))
            page.goto(base_url + path)
            page.locator(ready).first.wait_for(timeout=15000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(artifacts_dir / f"dead-ends-{path.split('/')[3]}.png"))
            local = urlparse(base_url).netloc
            assert {h for h in hosts if h} <= {local}, hosts
            assert problems == [], problems
            page.close()


def test_an_empty_brief_shows_every_problem_at_once(
    tmp_path, chromium, manager, brand_a, artifacts_dir
):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page = log_in(chromium, base_url, "manager")
        page.goto(base_url + "/campaigns/briefs/new/")
        page.get_by_role("button", name="Submit brief").click()
        errors = page.locator(".field-error")
        expect(errors.first).to_be_visible()
        for field in ("title", "objective", "budget", "deadline", "success_metric", "channels"):
            expect(page.locator(f"#field-{field} .field-error")).not_to_have_count(0)
        page.locator("#id_deadline").fill("9999-12-31")
        page.locator("#id_success_target").fill("-3")
        page.get_by_role("button", name="Submit brief").click()
        expect(page.locator("#field-deadline .field-error")).to_contain_text("two years ahead")
        expect(page.locator("#field-success_target .field-error")).to_contain_text("more than zero")
        page.screenshot(path=str(artifacts_dir / "dead-ends-brief-form.png"), full_page=True)
