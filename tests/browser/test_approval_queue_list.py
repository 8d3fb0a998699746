"""The queue as a list you work through, in Chromium at 1440 and 390 px: filter by brand
(the address follows), open an item in the pane, move with j/k and approve with a, tick
two low-risk items and approve them together, and a reject without a reason is answered
beside the reason field."""

import pytest
from playwright.sync_api import expect

from approvals.domain.decisions import content_hash
from approvals.models import ApprovalRequest
from approvals.services import action_propose
from governance.domain.audit import Actor
from tests.browser.test_tower_live import PASSWORD
from tests.factories import CampaignFactory
from tests.stack import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def log_in(browser, base_url, username, *, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base_url + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base_url + "/")
    return page, errors


def pause(campaign, n):
    payload = {"reason": f"CPA spike {n}"}
    return ApprovalRequest.objects.create(
        campaign=campaign,
        brand=campaign.brand,
        action_type="pause",
        queue_role="Marketing Manager",
        summary=f"Pause {campaign.name}",
        requested_by_agent="performance",
        payload=payload,
        content_hash=content_hash(payload),
    )


def launch(campaign):
    return action_propose(
        campaign_id=campaign.pk,
        action="launch_campaign",
        payload={"reason": "Ready to go"},
        actor=Actor.for_agent("planner"),
        summary=f"Launch {campaign.name}",
    ).approval


@pytest.fixture
def queue(manager, brand_a, brand_b):
    def campaign(brand, name):
        return CampaignFactory(brief__brand=brand, brief__created_by=manager, name=name)

    return {
        "pause_1": pause(campaign(brand_a, "Autumn Roast"), 1),
        "pause_2": pause(campaign(brand_a, "Cold Brew"), 2),
        "launch_a": launch(campaign(brand_a, "Espresso Week")),
        "launch_b": launch(campaign(brand_b, "Sleep Push")),
    }


def test_a_manager_works_through_the_queue_at_1440(tmp_path, chromium, artifacts_dir, queue):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page, errors = log_in(chromium, base_url, "manager", width=1440, height=900)
        page.goto(base_url + "/approvals/")
        rows = page.locator("#queue-items .queue-row")
        expect(rows).to_have_count(4)
        # List left, pane right.
        list_box = page.locator("#queue-list").bounding_box()
        pane_box = page.locator("#approval-pane").bounding_box()
        assert list_box["x"] + list_box["width"] <= pane_box["x"]
        page.screenshot(path=str(artifacts_dir / "queue-list-1440.png"))

        # Filter by brand through the menu: the list and the address follow.
        page.get_by_label("Brand").select_option("brand-b")
        expect(rows).to_have_count(1)
        expect(page).to_have_url(base_url + "/approvals/?brand=brand-b")
        page.get_by_label("Brand").select_option("")
        expect(rows).to_have_count(4)

        # Open an item: the pane shows its card, the address names it.
        launch_a = queue["launch_a"]
        page.locator(f"#queue-row-{launch_a.pk} .row-open").click()
        expect(page.locator(f"#approval-pane #approval-{launch_a.pk}")).to_be_visible()
        expect(page).to_have_url(f"{base_url}/approvals/?item={launch_a.pk}")

        # Reject without a reason: said beside the reason field, nothing changes.
        card = page.locator(f"#approval-{launch_a.pk}")
        card.get_by_role("button", name="Reject").click()
        error = page.locator(f"#note-{launch_a.pk}-error")
        expect(error).to_have_text("Say why you reject it: a reason is required.")
        page.screenshot(path=str(artifacts_dir / "queue-reject-without-reason-1440.png"))
        assert ApprovalRequest.objects.get(pk=launch_a.pk).status == "pending"

        # The keyboard: ? shows the shortcuts; j/k move; Enter opens; a approves.
        page.locator("body").click(position={"x": 5, "y": 300})
        page.keyboard.press("?")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
        page.keyboard.press("Escape")
        first, second = rows.nth(0), rows.nth(1)  # the two pauses, the most urgent
        page.keyboard.press("k")
        page.keyboard.press("k")
        page.keyboard.press("j")
        expect(second).to_have_class(_has("is-current"))
        page.keyboard.press("k")
        expect(first).to_have_class(_has("is-current"))
        expect(second).not_to_have_class(_has("is-current"))
        page.keyboard.press("j")
        expect(second).to_have_class(_has("is-current"))
        second_id = int(second.get_attribute("data-item"))
        page.keyboard.press("Enter")
        expect(page.locator(f"#approval-pane #approval-{second_id}")).to_be_visible()
        # Typing in a field is typing, not a shortcut.
        page.locator(f"#note-{second_id}").fill("a")
        page.locator(f"#note-{second_id}").press("a")
        assert ApprovalRequest.objects.get(pk=second_id).status == "pending"
        page.locator(f"#note-{second_id}").fill("")
        page.locator("body").click(position={"x": 5, "y": 300})
        page.keyboard.press("a")
        expect(page.locator(f"#approval-{second_id} .decided")).to_contain_text("Approved")
        expect(page.locator(f"#queue-row-{second_id}")).to_have_class(_has("status-approved"))
        page.screenshot(path=str(artifacts_dir / "queue-approved-by-key-1440.png"))

        # x ticks the selected row; "Select all low-risk" ticks every low-risk one.
        page.reload()
        page.locator("body").click(position={"x": 5, "y": 300})
        page.keyboard.press("j")  # the first row: the one pause still waiting
        page.keyboard.press("x")
        expect(page.locator(f"#queue-row-{queue['pause_1'].pk} input.bulk-pick")).to_be_checked()
        expect(page.locator(".bulk-submit")).to_have_text("Approve 1 selected")
        page.keyboard.press("x")
        expect(page.locator(".bulk-submit")).to_be_disabled()
        boxes = page.locator("#queue-items input.bulk-pick")
        waiting_pauses = boxes.count()
        page.get_by_label("Select all low-risk").check()
        button = page.locator(".bulk-submit")
        expect(button).to_have_text(f"Approve {waiting_pauses} selected")
        button.click()
        results = page.locator("#bulk-results")
        expect(results).to_contain_text("Approved:")
        page.screenshot(path=str(artifacts_dir / "queue-bulk-1440.png"))
        assert page_errors(errors) == []

    statuses = set(
        ApprovalRequest.objects.filter(action_type="pause").values_list("status", flat=True)
    )
    assert statuses == {"approved"}


def page_errors(errors):
    # TRICKY: live pushes meant for other pages (the tower's rows) find no target here;
    # htmx logs that as "htmx:oobErrorNoTarget", which is not this page's to fix.
    return [e for e in errors if "oobErrorNoTarget" not in e]


def _has(name):
    import re

    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def test_bulk_approves_two_low_risk_items(tmp_path, chromium, artifacts_dir, queue):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page, errors = log_in(chromium, base_url, "manager", width=1440, height=900)
        page.goto(base_url + "/approvals/?kind=pause")
        expect(page.locator("#queue-items .queue-row")).to_have_count(2)
        button = page.locator(".bulk-submit")
        expect(button).to_be_disabled()
        page.locator(f"#queue-row-{queue['pause_1'].pk}").click(position={"x": 10, "y": 10})
        page.locator(f"#queue-row-{queue['pause_1'].pk} input.bulk-pick").check()
        page.locator(f"#queue-row-{queue['pause_2'].pk} input.bulk-pick").check()
        expect(button).to_have_text("Approve 2 selected")
        button.click()
        results = page.locator("#bulk-results")
        expect(results.locator(".bulk-ok")).to_have_count(2)
        expect(results).to_contain_text("Pause Autumn Roast")
        expect(results).to_contain_text("Pause Cold Brew")
        expect(page.locator("#queue-items .queue-row")).to_have_count(0)
        page.screenshot(path=str(artifacts_dir / "queue-bulk-two-1440.png"))
        assert page_errors(errors) == []
    assert set(
        ApprovalRequest.objects.filter(action_type="pause").values_list("status", flat=True)
    ) == {"approved"}


def test_a_reviewer_clears_the_queue_on_a_phone(tmp_path, chromium, artifacts_dir, queue):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page, errors = log_in(chromium, base_url, "manager", width=390, height=844)
        page.goto(base_url + "/approvals/")
        rows = page.locator("#queue-items .queue-row")
        expect(rows).to_have_count(4)
        expect(page.locator("#approval-pane")).to_be_hidden()  # the list alone
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        page.screenshot(path=str(artifacts_dir / "queue-list-390.png"), full_page=True)

        page.get_by_label("Brand").select_option("brand-a")
        expect(rows).to_have_count(3)
        expect(page).to_have_url(base_url + "/approvals/?brand=brand-a")

        launch_a = queue["launch_a"]
        page.locator(f"#queue-row-{launch_a.pk} .row-open").click()
        card = page.locator(f"#approval-pane #approval-{launch_a.pk}")
        expect(card).to_be_visible()
        expect(page.locator("#queue-list")).to_be_hidden()  # the item replaces the list
        expect(page).to_have_url(f"{base_url}/approvals/?brand=brand-a&item={launch_a.pk}")
        card.get_by_role("button", name="Reject").click()
        expect(page.locator(f"#note-{launch_a.pk}-error")).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "queue-item-390.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width

        card.get_by_label("Reason or comment").fill("Not this week")
        card.get_by_role("button", name="Reject").click()
        expect(page.locator(f"#approval-{launch_a.pk} .decided")).to_contain_text("Rejected")
        page.screenshot(path=str(artifacts_dir / "queue-rejected-390.png"), full_page=True)
        page.get_by_role("link", name="Next item").click()
        expect(page.locator("#approval-pane .approval-card.status-pending")).to_be_visible()
        page.get_by_role("link", name="Back to the queue").click()
        expect(page.locator("#queue-list")).to_be_visible()
        expect(page).to_have_url(base_url + "/approvals/?brand=brand-a")
        assert page_errors(errors) == []
