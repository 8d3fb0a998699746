"""Personal API tokens: stored hashed and shown once, scoped, revocable by their owner or
an admin — on the API and on the tokens page."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from api.tokens import api_token_create, api_token_revoke
from approvals.models import ApprovalRequest
from campaigns.models import Brief
from governance.domain.errors import NotPermitted
from governance.models import AuditEvent

from .helpers import ApiClient, brief_body, propose_launch, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def launch(campaign_a):
    return propose_launch(campaign_a, "Launch A")


def test_only_the_hash_is_kept_and_the_token_works_once_made(manager):
    row, raw = api_token_create(owner=manager, name="BI", scopes=["read"], by=manager)
    assert raw.startswith("cct_") and len(raw) > 40
    assert row.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(list(ApiToken.objects.values()))
    me = ApiClient(raw).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json() == {
        "username": "manager",
        "roles": ["Marketing Manager"],
        "brands": ["brand-a", "brand-b"],
        "scopes": ["read"],
    }
    row.refresh_from_db()
    assert row.last_used_at is not None
    created = AuditEvent.objects.get(action="api_token.created")
    assert raw not in str(created.data) and created.data["scopes"] == ["read"]


def test_a_revoked_expired_or_unknown_token_is_refused(manager):
    revoked = token_for(manager)
    api_token_revoke(token_id=ApiToken.objects.get().pk, by=manager)
    expired_row, expired = api_token_create(owner=manager, name="old", scopes=["read"], by=manager)
    ApiToken.objects.filter(pk=expired_row.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    for raw in (revoked, expired, "cct_not-a-token", None):
        response = ApiClient(raw).get("/api/v1/campaigns")
        assert response.status_code == 401, raw
        assert response.json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "revoked" in ApiClient(revoked).get("/api/v1/me").json()["error"]


def test_a_deactivated_owners_token_stops_working(manager):
    raw = token_for(manager)
    manager.is_active = False
    manager.save()
    assert ApiClient(raw).get("/api/v1/me").status_code == 401


def test_a_token_without_the_approve_scope_cannot_approve(manager, launch):
    api = ApiClient(token_for(manager, scopes=["read", "write"]))
    response = api.post(f"/api/v1/approvals/{launch.pk}/decide", {"decision": "approve"})
    assert response.status_code == 403
    assert response.json() == {"error": "This token lacks the “approve” scope."}
    launch.refresh_from_db()
    assert launch.status == "pending"
    assert not AuditEvent.objects.filter(action__startswith="approval.approved").exists()
    # The same person with the scope can: the scope was the only thing missing.
    approved = ApiClient(token_for(manager, scopes=["approve"])).post(
        f"/api/v1/approvals/{launch.pk}/decide", {"decision": "approve", "note": "Go"}
    )
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "manager"


def test_a_read_token_writes_nothing(manager, brand_a):
    api = ApiClient(token_for(manager, scopes=["read"]))
    response = api.post("/api/v1/briefs", brief_body(brand_a.slug))
    assert response.status_code == 403 and "write" in response.json()["error"]
    assert not Brief.objects.exists()
    assert api.get("/api/v1/briefs").status_code == 200


def test_a_token_cannot_mint_a_stronger_token(manager):
    api = ApiClient(token_for(manager, scopes=["read", "write"]))
    response = api.post("/api/v1/tokens", {"name": "sneaky", "scopes": ["approve"]})
    assert response.status_code == 403
    assert ApiToken.objects.count() == 1
    made = api.post("/api/v1/tokens", {"name": "reports", "scopes": ["read"]})
    assert made.status_code == 201 and made.json()["token"].startswith("cct_")
    listed = api.get("/api/v1/tokens").json()
    assert {t["name"] for t in listed} == {"tests", "reports"}
    assert all("token" not in t and "digest" not in t for t in listed)


def test_owners_and_admins_revoke_and_nobody_else(manager, admin_user, legal_a):
    raw = token_for(manager)
    row = ApiToken.objects.get()
    with pytest.raises(NotPermitted):
        api_token_revoke(token_id=row.pk, by=legal_a)
    with pytest.raises(NotPermitted):
        api_token_create(owner=manager, name="x", scopes=["read"], by=legal_a)
    legal_api = ApiClient(token_for(legal_a))
    assert legal_api.delete(f"/api/v1/tokens/{row.pk}").status_code == 404
    assert ApiClient(raw).get("/api/v1/me").status_code == 200
    admin_api = ApiClient(token_for(admin_user))
    assert admin_api.delete(f"/api/v1/tokens/{row.pk}").status_code == 204
    assert ApiClient(raw).get("/api/v1/me").status_code == 401
    row.refresh_from_db()
    assert row.revoked_by == admin_user
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["root"]}, "scopes"),
        ({"name": "x", "scopes": ["read"], "expires_at": "2000-01-01T00:00:00Z"}, None),
    ],
)
def test_a_bad_token_request_says_why_and_makes_nothing(manager, body, field):
    api = ApiClient(token_for(manager))
    response = api.post("/api/v1/tokens", body)
    assert response.status_code == 400
    assert response.json()["error"]
    if field:
        assert field in response.json()["errors"]
    assert ApiToken.objects.count() == 1


# --- The tokens page -------------------------------------------------------------------

PAGE = reverse("api_tokens")


def test_the_page_shows_a_new_token_once(login, manager):
    client = login(manager)
    response = client.post(
        PAGE, {"name": "Slack bot", "scopes": ["read", "approve"], "lifetime": "30"}
    )
    assert response.status_code == 302
    shown = client.get(PAGE).content.decode()
    token = ApiToken.objects.get()
    assert "Copy it now" in shown and f"{token.prefix}" in shown
    raw = shown.split('id="new-token" class="token-value">')[1].split("<")[0]
    assert hashlib.sha256(raw.encode()).hexdigest() == token.digest
    assert token.scopes == ["approve", "read"]
    assert (token.expires_at - timezone.now()).days in (29, 30)
    again = client.get(PAGE).content.decode()
    assert raw not in again and "Copy it now" not in again and "Slack bot" in again
    assert ApiClient(raw).get("/api/v1/me").status_code == 200


def test_the_page_refuses_a_token_without_scopes_and_makes_nothing(login, manager):
    response = login(manager).post(PAGE, {"name": "x", "lifetime": "30"})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_people_see_their_own_tokens_and_admins_everyones(login, manager, legal_a, admin_user):
    api_token_create(owner=manager, name="manager's BI", scopes=["read"], by=manager)
    api_token_create(owner=legal_a, name="legal's bot", scopes=["read"], by=legal_a)
    mine = login(manager).get(PAGE).content.decode()
    assert "manager&#x27;s BI" in mine and "legal&#x27;s bot" not in mine
    legal_row = ApiToken.objects.get(user=legal_a)
    forbidden = login(manager).post(reverse("api_token_revoke", args=[legal_row.pk]))
    assert forbidden.status_code == 404
    every = login(admin_user).get(PAGE).content.decode()
    assert "manager&#x27;s BI" in every and "legal&#x27;s bot" in every


def test_an_admin_makes_a_token_for_someone_and_revokes_it_from_the_page(
    login, manager, admin_user
):
    client = login(admin_user)
    client.post(
        PAGE, {"name": "Service", "scopes": ["read"], "lifetime": "never", "owner": "manager"}
    )
    token = ApiToken.objects.get()
    assert (token.user, token.created_by, token.expires_at) == (manager, admin_user, None)
    page = client.get(PAGE).content.decode()
    assert "by admin" in page
    client.post(reverse("api_token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_by == admin_user and not token.is_live
    assert "Revoked" in client.get(PAGE).content.decode()


def test_a_manager_cannot_make_a_token_for_someone_else(login, manager, legal_a):
    login(manager).post(
        PAGE, {"name": "x", "scopes": ["read"], "lifetime": "30", "owner": "legal-a"}
    )
    assert ApiToken.objects.get().user == manager  # the owner field is admins' only


def test_approvals_stay_pending_after_a_refusal(manager, launch):
    ApiClient(token_for(manager, scopes=["read"])).post(
        f"/api/v1/approvals/{launch.pk}/decide", {"decision": "reject", "note": "no"}
    )
    assert ApprovalRequest.objects.get(pk=launch.pk).status == "pending"
