"""The navigation's "Approvals (N)" follows new work live, on any page."""

import pytest
from playwright.sync_api import expect

from approvals.services import action_propose
from governance.domain.audit import Actor
from tests.browser.test_tower_live import log_in
from tests.stack import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_a_new_item_updates_the_nav_count_without_a_reload(tmp_path, chromium, manager, campaign_a):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page = log_in(chromium, base_url, "manager")
        page.goto(f"{base_url}/campaigns/{campaign_a.pk}/")
        # expect(), not wait_for_function: the page's CSP forbids evaluating strings.
        page.locator('[data-nav="approvals"]').wait_for(state="attached")
        page.wait_for_timeout(1000)  # the socket is open
        assert page.locator('[data-nav="approvals"]').inner_text() == "Approvals"
        action_propose(
            campaign_id=campaign_a.pk,
            action="launch_campaign",
            payload={"reason": "Ready"},
            actor=Actor.for_agent("planner"),
            summary="Launch",
        )
        expect(page.locator('[data-nav="approvals"]')).to_have_text("Approvals (1)", timeout=5000)
