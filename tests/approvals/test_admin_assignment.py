"""An admin grants and revokes a reviewer's brand in the Django admin — no shell — and the
change is audited."""

import pytest
from django.contrib import admin
from django.urls import reverse

from governance import policies
from governance.domain.roles import Role
from governance.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_grants_and_revokes_a_brand_from_the_admin_site(client, admin_user, brand_b):
    reviewer = UserFactory(username="legal-b", role=Role.LEGAL)
    assert list(policies.visible_brands(reviewer)) == []
    client.force_login(admin_user)  # Admin group + staff, not a superuser

    page = reverse("admin:campaigns_brand_permissions", args=[brand_b.pk])
    assert client.get(page).status_code == 200
    picked = client.post(page, {"user": "legal-b", "submit_manage_user": "Manage user"})
    manage = reverse(
        "admin:campaigns_brand_permissions_manage_user", args=[brand_b.pk, reviewer.pk]
    )
    assert picked.status_code == 302 and picked["Location"] == manage

    assert client.post(manage, {"permissions": ["view_brand"]}).status_code == 302
    assert list(policies.visible_brands(UserFactory._meta.model.objects.get(pk=reviewer.pk))) == [
        brand_b
    ]
    granted = AuditEvent.objects.get(action="brand.permissions_changed")
    assert granted.actor_user == admin_user and granted.brand == brand_b
    assert granted.data["added"] == ["view_brand"] and granted.data["removed"] == []

    # Nothing ticked: revoke. (A browser always sends the CSRF token; an empty POST would
    # leave guardian's form unbound.)
    assert client.post(manage, {"csrfmiddlewaretoken": "x"}).status_code == 302
    assert list(policies.visible_brands(UserFactory._meta.model.objects.get(pk=reviewer.pk))) == []
    revoked = AuditEvent.objects.filter(action="brand.permissions_changed").last()
    assert revoked.data["removed"] == ["view_brand"]


def test_every_model_has_an_admin_page_the_admin_can_open(client, admin_user, campaign_a):
    client.force_login(admin_user)
    for model in admin.site._registry:
        meta = model._meta
        if meta.app_label not in {"campaigns", "approvals", "agents"}:
            continue
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url


def test_a_manager_cannot_reach_the_permission_pages(client, manager, brand_a):
    client.force_login(manager)
    response = client.get(reverse("admin:campaigns_brand_permissions", args=[brand_a.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
