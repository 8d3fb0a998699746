"""The tower's address is its view, in Chromium: filters push the URL, Back and Forward
restore the view fresh from the server, and a phone gets one card per campaign."""

import re

import pytest
from playwright.sync_api import expect

from campaigns.domain.phases import Phase
from campaigns.models import Campaign
from tests.browser.test_tower_live import PASSWORD, log_in
from tests.factories import CampaignFactory
from tests.stack import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def campaigns(manager, brand_a, brand_b):
    made = {
        "a1": CampaignFactory(brief__brand=brand_a, brief__created_by=manager, name="Autumn Roast"),
        "a2": CampaignFactory(brief__brand=brand_a, brief__created_by=manager, name="Cold Brew"),
        "b1": CampaignFactory(brief__brand=brand_b, brief__created_by=manager, name="Sleep Push"),
    }
    Campaign.objects.filter(pk=made["a1"].pk).update(phase=Phase.EXECUTION)
    return made


def test_filters_live_in_the_url_and_back_forward_restore_them_fresh(
    tmp_path, chromium, artifacts_dir, manager, campaigns
):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page = log_in(chromium, base_url, "manager")
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        page.evaluate("window.__sameDocument = true")
        rows = page.locator("#tower-body tr")
        expect(rows).to_have_count(3)

        page.locator("#filter-phase").select_option("execution")
        expect(page).to_have_url(base_url + "/?phase=execution")  # at once, and nothing empty
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Autumn Roast")

        # Meanwhile a campaign moves, with no live update announcing it: Back must show
        # the view as it is now, not a snapshot of how it was.
        Campaign.objects.filter(pk=campaigns["a2"].pk).update(phase=Phase.EXECUTION)

        page.go_back()
        expect(page).to_have_url(base_url + "/")
        expect(page.locator("#filter-phase")).to_have_value("")
        expect(rows).to_have_count(3)
        expect(page.locator(f"#tower-row-{campaigns['a2'].pk} .cell-phase")).to_contain_text(
            "Execution"
        )

        page.go_forward()
        expect(page).to_have_url(base_url + "/?phase=execution")
        expect(page.locator("#filter-phase")).to_have_value("execution")
        expect(rows).to_have_count(2)  # fresh: Cold Brew is in execution now

        # Sorting is a step in the history too, and the filters keep it.
        page.locator("#sort-name").click()
        expect(page).to_have_url(base_url + "/?phase=execution&sort=name")
        expect(page.locator("#tower-table th[aria-sort=ascending]")).to_contain_text("Campaign")
        page.locator("#filter-brand").select_option("brand-a")
        expect(page).to_have_url(base_url + "/?brand=brand-a&phase=execution&sort=name")
        expect(page.locator("#tower-summary-label")).to_contain_text("Needs attention in Brand A")
        page.go_back()
        expect(page).to_have_url(base_url + "/?phase=execution&sort=name")
        expect(page.locator("#filter-brand")).to_have_value("")

        # The socket stayed open through all of it, and says so.
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        assert page.evaluate("window.__sameDocument") is True  # never a full reload

        # Opening the address directly renders the same view.
        page.goto(base_url + "/?phase=execution&sort=name")
        expect(page.locator("#filter-phase")).to_have_value("execution")
        expect(rows).to_have_count(2)
        page.screenshot(path=str(artifacts_dir / "tower-view-state-1440.png"))
        assert errors == []


def test_a_phone_gets_cards_and_no_sideways_scrolling(
    tmp_path, chromium, artifacts_dir, manager, campaigns
):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        context = chromium.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.goto(base_url + "/")
        page.get_by_label("Username").fill("manager")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(base_url + "/")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

        # (page.evaluate runs through the DevTools protocol: the page's CSP does not apply.)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        row = page.locator(f"#tower-row-{campaigns['a1'].pk}")
        assert row.evaluate("el => getComputedStyle(el).display") == "grid"
        box = row.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        # Each card names its fields (the table's headers are not beside it any more).
        assert (
            row.locator(".cell-budget").evaluate("el => getComputedStyle(el, '::before').content")
            == '"Budget consumed"'
        )
        # Filters stack, full width; sorting stays within reach.
        phase = page.locator("#filter-phase").bounding_box()
        brand = page.locator("#filter-brand").bounding_box()
        assert phase["y"] > brand["y"] and phase["width"] > 250
        expect(page.locator("#sort-budget")).to_be_visible()
        page.screenshot(path=str(artifacts_dir / "tower-cards-390.png"), full_page=True)

        # A filter on a phone works the same way.
        page.locator("#filter-phase").select_option("execution")
        expect(page).to_have_url(re.compile(r"/\?phase=execution$"))
        expect(page.locator("#tower-body tr")).to_have_count(1)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        context.close()
