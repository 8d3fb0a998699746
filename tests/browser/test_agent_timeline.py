"""A manager submits a brief in Chromium and watches, without reloading, the plan and then
the first drafts arrive on the campaign page — from a real Celery worker, through uvicorn."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from controltower.celery import app
from tests.browser.test_tower_live import log_in
from tests.stack import asgi_server, celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def consume(on: bool) -> None:
    """Stop or resume the worker's consumption of the default queue (Celery's remote
    control), so the page is on screen, empty, before any agent work happens."""
    queue = app.conf.task_default_queue
    control = app.control.add_consumer if on else app.control.cancel_consumer
    replies = control(queue, reply=True, timeout=10)
    assert replies, "the worker did not answer the remote-control request"


def test_the_plan_and_first_drafts_appear_without_a_reload(
    tmp_path, chromium, artifacts_dir, manager, brand_a
):
    with (
        asgi_server(tmp_path / "uvicorn.log") as base_url,
        celery_worker(tmp_path / "worker.log"),
    ):
        consume(False)
        page = log_in(chromium, base_url, "manager")
        page.get_by_role("link", name="New brief").click()
        page.get_by_label("Brand").select_option(label="Brand A")
        page.get_by_label("Title").fill("Winter warmers")
        page.get_by_label("Objective").fill("Grow repeat orders from lapsed subscribers")
        page.get_by_label("Email").check()
        page.locator("#id_budget").fill("12000")
        deadline = timezone.localdate() + timedelta(days=30)
        page.get_by_label("Deadline").fill(deadline.isoformat())
        page.get_by_label("Success metric").select_option("cpa")
        page.get_by_label("Required claims (one per line)").fill("Roasted to order")
        page.get_by_role("button", name="Submit brief").click()

        page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
        campaign = Campaign.objects.get(brief__title="Winter warmers")
        assert page.url == f"{base_url}/campaigns/{campaign.pk}/"
        plan = page.locator("#agent-plan")
        work = page.locator("#agent-work")
        assert "No plan yet" in plan.inner_text()
        assert page.locator("#agent-plan .plan-steps").count() == 0
        assert page.locator("#agent-work .draft").count() == 0
        page.evaluate("window.__sameDocument = true")
        page.screenshot(path=str(artifacts_dir / "agent-timeline-before.png"), full_page=True)

        consume(True)  # the planner's queued run is picked up now
        page.locator("#agent-plan .plan-steps").wait_for(timeout=30_000)
        assert "Grow repeat orders from lapsed subscribers" in plan.inner_text()
        assert "offline composer — built in, not an LLM" in plan.inner_text()
        page.locator("#agent-work .draft").first.wait_for(timeout=30_000)
        drafts = work.locator(".draft").all_inner_texts()
        assert drafts and all("Email" in d for d in drafts)
        assert "Planner agent" in work.inner_text() and "Content agent" in work.inner_text()
        assert page.evaluate("window.__sameDocument") is True  # no reload happened
        page.screenshot(path=str(artifacts_dir / "agent-timeline-live.png"), full_page=True)

        # The agents page counts that work.
        page.get_by_role("link", name="Agents").click()
        planner = page.locator("#agent-planner")
        assert planner.locator('[data-figure="runs"]').inner_text() == "1"
        assert page.locator('#agent-content [data-figure="runs"]').inner_text() == "1"
        page.screenshot(path=str(artifacts_dir / "agents-page.png"), full_page=True)
