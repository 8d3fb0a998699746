"""A legal reviewer clears a claim from their queue in Chromium; the manager's tower shows
the item leave the queue without a reload."""

import pytest
from playwright.sync_api import expect

from approvals.services import action_propose
from campaigns.models import ContentVariant
from governance.domain.audit import Actor
from tests.browser.test_tower_live import log_in
from tests.stack import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_legal_reviewer_edits_and_approves_and_the_tower_updates(
    tmp_path, chromium, artifacts_dir, manager, legal_a, campaign_a
):
    approval = action_propose(
        campaign_id=campaign_a.pk,
        action="publish_content",
        payload={
            "channel": "social_ads",
            "headline": "Clinically proven to calm your mornings",
            "body": "Our cold brew is clinically proven to calm your mornings.",
            "claims": ["Clinically proven"],
        },
        actor=Actor.for_agent("content"),
        summary="New paid-social ad",
        claims=["Clinically proven"],
        confidence=0.74,
    ).approval
    assert approval.queue_role == "Legal Reviewer"

    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        tower = log_in(chromium, base_url, "manager")
        tower.wait_for_selector('#live-status[data-state="live"]')
        tower.evaluate("window.__sameDocument = true")
        cell = tower.locator(f"#tower-row-{campaign_a.pk} .cell-approvals")
        assert cell.inner_text() == "1 pending"

        legal = log_in(chromium, base_url, "legal-a")
        legal.get_by_role("link", name="Approvals (1)").click()
        card = legal.locator(f"#approval-{approval.pk}")
        why = card.get_by_role("region", name="Why it is here")
        assert "not approved for this brand" in why.inner_text()
        assert "“Clinically proven”" in why.inner_text()
        card.get_by_text("Edit before approving").click()
        card.get_by_label("Headline").fill("Smooth cold brew for calmer mornings")
        card.get_by_label("Body").fill("Our cold brew is roasted to order for calmer mornings.")
        card.get_by_label("Claims").fill("Roasted to order")
        legal.screenshot(path=str(artifacts_dir / "queue-legal-editing.png"), full_page=True)
        card.get_by_role("button", name="Approve with my edits").click()
        legal.locator(f"#approval-{approval.pk} .decided").wait_for()
        assert (
            "Approved by legal-a" in legal.locator(f"#approval-{approval.pk} .decided").inner_text()
        )
        legal.screenshot(path=str(artifacts_dir / "queue-legal-approved.png"), full_page=True)

        expect(tower.locator(f"#tower-row-{campaign_a.pk} .cell-approvals")).to_have_text(
            "0", timeout=5000
        )
        assert tower.evaluate("window.__sameDocument") is True
        tower.screenshot(path=str(artifacts_dir / "tower-after-approval.png"), full_page=True)

    variant = ContentVariant.objects.get()
    assert variant.headline == "Smooth cold brew for calmer mornings"
    assert "clinically" not in variant.body.lower()
    assert variant.claims == ["Roasted to order"]
