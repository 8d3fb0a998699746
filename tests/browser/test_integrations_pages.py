"""What a person sees on the integration pages, in Debian's Chromium against uvicorn:
the API tokens page (make a token, see it once, use it, revoke it) and the page a signed
approval link opens (log in, see the evidence, confirm once)."""

import json
import shutil
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from approvals.domain.links import NOT_YOURS
from approvals.models import ApprovalLinkUse, ApprovalStatus
from approvals.services import action_propose, approval_link_token
from governance.domain.audit import Actor
from governance.models import AuditEvent
from tests.browser.test_tower_live import PASSWORD, log_in
from tests.stack import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")


def shoot(page, tmp_path, name, *, copy_as=None):
    """A full-page screenshot in tmp_path; with ``copy_as``, a copy in /tmp/shots too."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if copy_as:
        SHOTS.mkdir(exist_ok=True)
        shutil.copyfile(path, SHOTS / copy_as)


def call_me(base_url, token):
    """GET /api/v1/me with the token, from Python: (status, JSON body or None)."""
    request = urllib.request.Request(
        f"{base_url}/api/v1/me",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, None


# --- API tokens ---------------------------------------------------------------------------


def test_a_token_is_shown_once_works_on_the_api_and_stops_when_revoked(tmp_path, chromium, manager):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page = log_in(chromium, base_url, "manager")
        page.locator(".user-menu-toggle").click()  # the account menu holds API tokens
        page.locator("#nav-api-tokens").click()
        page.wait_for_url(base_url + reverse("api_tokens"))
        assert "No tokens yet." in page.locator("#token-table").inner_text()

        form = page.locator("#token-form")
        form.get_by_label("Name").fill("BI dashboard")
        form.locator('input[name="scopes"][value="read"]').check()
        form.locator('input[name="scopes"][value="approve"]').check()
        form.get_by_label("Expires").select_option("30")
        form.get_by_role("button", name="Make token").click()
        page.wait_for_url(base_url + reverse("api_tokens"))

        once = page.locator("#token-once")
        assert "Copy it now" in once.inner_text()
        raw = page.locator("#new-token").inner_text().strip()
        assert raw
        shoot(page, tmp_path, "tokens-new", copy_as="tokens.png")

        token = ApiToken.objects.get()
        assert token.user == manager
        assert token.name == "BI dashboard"
        assert sorted(token.scopes) == ["approve", "read"]
        expected = timezone.now() + timedelta(days=30)
        assert abs(token.expires_at - expected) < timedelta(minutes=5)
        row = page.locator(f"#token-{token.pk}")
        assert "BI dashboard" in row.inner_text()
        assert "Live" in row.inner_text()
        assert raw not in row.inner_text()  # the table shows only the prefix

        status, body = call_me(base_url, raw)
        assert status == 200, body
        assert body["username"] == "manager"
        assert sorted(body["scopes"]) == ["approve", "read"]

        # Shown once: a reload no longer has it.
        page.reload()
        assert page.locator("#token-once").count() == 0
        assert page.locator("#new-token").count() == 0
        assert raw not in page.content()
        shoot(page, tmp_path, "tokens-reloaded")

        row = page.locator(f"#token-{token.pk}")
        row.get_by_role("button", name="Revoke BI dashboard").click()
        page.wait_for_url(base_url + reverse("api_tokens"))
        row = page.locator(f"#token-{token.pk}")
        assert "Revoked" in row.inner_text()
        assert row.get_by_role("button", name="Revoke BI dashboard").count() == 0
        shoot(page, tmp_path, "tokens-revoked")

        status, _ = call_me(base_url, raw)
        assert status == 401

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.revoked_by == manager


def test_a_token_without_a_scope_is_refused_and_nothing_is_made(tmp_path, chromium, manager):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        page = log_in(chromium, base_url, "manager")
        page.locator(".user-menu-toggle").click()  # the account menu holds API tokens
        page.locator("#nav-api-tokens").click()
        page.wait_for_url(base_url + reverse("api_tokens"))

        form = page.locator("#token-form")
        form.get_by_label("Name").fill("No scopes")
        for box in form.locator('input[name="scopes"]').all():
            box.uncheck()  # "read" is ticked to begin with
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            form.get_by_role("button", name="Make token").click()
        assert posted.value.status == 400
        page.wait_for_load_state()

        assert "This field is required." in page.locator("#token-form").inner_text()
        assert page.locator("#token-once").count() == 0
        assert "No tokens yet." in page.locator("#token-table").inner_text()
        shoot(page, tmp_path, "tokens-no-scope")

    assert ApiToken.objects.count() == 0


# --- Approval links -----------------------------------------------------------------------


def test_an_approval_link_logs_in_shows_the_evidence_and_decides_exactly_once(
    tmp_path, chromium, manager, legal_a, campaign_a
):
    approval = action_propose(
        campaign_id=campaign_a.pk,
        action="launch_campaign",
        payload={"reason": "Ready"},
        actor=Actor.for_agent("planner"),
        summary="Launch A",
    ).approval
    assert approval.status == ApprovalStatus.PENDING
    # The manager's own approve link, as approval_notify_reviewers makes it (its absolute
    # form uses CONTROLTOWER_BASE_URL; here the path goes to the test server).
    token = approval_link_token(approval_id=approval.pk, decision="approve", reviewer_id=manager.pk)
    path = reverse("approvals:link", args=[token])

    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        link_url = base_url + path

        # A legal reviewer of the brand, following the manager's link, is refused.
        legal = log_in(chromium, base_url, "legal-a")
        with legal.expect_response(lambda r: r.url == link_url) as opened:
            legal.goto(link_url)
        assert opened.value.status == 403
        assert NOT_YOURS in legal.locator("p.form-errors[role=alert]").inner_text()
        assert legal.get_by_role("heading", level=1).inner_text().startswith("Approval link")
        assert legal.get_by_role("button", name="Confirm: approve").count() == 0
        assert legal.get_by_role("button", name="Approve", exact=True).count() == 0
        shoot(legal, tmp_path, "link-legal-refused")
        approval.refresh_from_db()
        assert approval.status == ApprovalStatus.PENDING
        assert ApprovalLinkUse.objects.count() == 0

        # Logged out: the link goes to the login page, and back to the link after it.
        context = chromium.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(link_url)
        assert page.url.startswith(base_url + reverse("login"))
        assert page.get_by_role("heading", name="Log in").count() == 1
        page.get_by_label("Username").fill("manager")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(link_url)

        card = page.locator(f"#approval-{approval.pk}")
        assert card.is_visible()
        assert "Launch A" in card.inner_text()
        assert "Ready" in card.inner_text()
        assert card.get_by_role("region", name="Why it is here").is_visible()
        assert "Approve: Launch A" in page.get_by_role("heading", level=1).inner_text()
        # Only the link's confirm form: none of the queue's own buttons.
        assert page.locator("form.link-confirm").count() == 1
        assert page.get_by_role("button", name="Confirm: approve").count() == 1
        for queue_button in ("Approve", "Reject", "Ask for changes", "Claim for review"):
            assert page.get_by_role("button", name=queue_button, exact=True).count() == 0
        assert card.locator("form").count() == 0
        shoot(page, tmp_path, "link-confirm", copy_as="link.png")

        page.get_by_label("Comment").fill("Go")
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.get_by_role("button", name="Confirm: approve").click()
        assert posted.value.status == 200
        page.wait_for_load_state()
        assert "Decided: Launch A" in page.get_by_role("heading", level=1).inner_text()
        assert "This link is now used up." in page.locator("p.decided").first.inner_text()
        assert page.locator("form.link-confirm").count() == 0
        shoot(page, tmp_path, "link-decided")

        approval.refresh_from_db()
        assert approval.status == ApprovalStatus.APPROVED
        assert approval.decided_by == manager
        assert ApprovalLinkUse.objects.filter(approval=approval).count() == 1
        approved = AuditEvent.objects.filter(
            action="approval.approved", campaign=campaign_a, object_id=str(approval.pk)
        )
        assert approved.count() == 1

        # The same link again: already used, nothing left to confirm.
        with page.expect_response(lambda r: r.url == link_url) as reopened:
            page.goto(link_url)
        assert reopened.value.status == 410
        error = page.locator("p.form-errors[role=alert]").inner_text()
        assert "This link was already used: manager approved the request" in error
        assert page.locator("form.link-confirm").count() == 0
        assert page.get_by_role("button", name="Confirm: approve").count() == 0
        shoot(page, tmp_path, "link-used", copy_as="link_used.png")

    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    assert ApprovalLinkUse.objects.filter(approval=approval).count() == 1
    assert approved.count() == 1
