"""An admin manages webhooks in Chromium: adds one through the form (the secret shown
once), pauses it, and the page reads right at 1440 and 390 px wide."""

import pytest

from integrations.models import WebhookSubscription
from tests.browser.test_tower_live import log_in
from tests.stack import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_and_pauses_a_webhook(tmp_path, chromium, artifacts_dir, admin_user, brand_a):
    errors = []
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page = log_in(chromium, base_url, "admin")
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.get_by_role("link", name="Webhooks").first.click()
        page.get_by_label("Endpoint URL").fill("https://hooks.example.com/control-tower")
        page.get_by_label("An SLA was breached (sla.breached)").check()
        page.get_by_role("button", name="Add webhook").click()
        page.get_by_text("shown this once").wait_for()
        secret = WebhookSubscription.objects.get().secret
        assert secret in page.locator(".secret-once").inner_text()
        page.screenshot(path=str(artifacts_dir / "webhooks-added-1440.png"), full_page=True)

        page.get_by_role("button", name="Pause").click()
        page.get_by_text("Paused: https://hooks.example.com/control-tower.").wait_for()
        assert not WebhookSubscription.objects.get().active

        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        page.screenshot(path=str(artifacts_dir / "webhooks-390.png"), full_page=True)
        assert width <= 390
    assert errors == []
