"""Admins reach every monitoring setting and record their role has (SLA and escalation
settings, ingestion tokens, sandbox faults, notification deliveries…), by the policy
(``policies.can_configure_monitoring``), not by model permissions granted one by one."""

import pytest
from django.urls import reverse

from governance.domain.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "monitoringsettings",
    "ingestiontoken",
    "sandboxfault",
    "notificationdelivery",
    "escalation",
    "silence",
    "circuitbreaker",
    "telemetryevent",
]
ADDABLE = ["monitoringsettings", "ingestiontoken", "sandboxfault"]


@pytest.mark.parametrize("model", MODELS)
def test_admin_opens_every_monitoring_page(login, admin_user, model):
    response = login(admin_user).get(reverse(f"admin:monitoring_{model}_changelist"))
    assert response.status_code == 200, model


@pytest.mark.parametrize("model", ADDABLE)
def test_admin_opens_the_add_forms(login, admin_user, model):
    response = login(admin_user).get(reverse(f"admin:monitoring_{model}_add"))
    assert response.status_code == 200, model


def test_the_admin_index_lists_monitoring(login, admin_user):
    page = login(admin_user).get(reverse("admin:index")).content.decode()
    assert reverse("admin:monitoring_monitoringsettings_changelist") in page
    assert reverse("admin:monitoring_notificationdelivery_changelist") in page


def test_a_staff_manager_does_not(login, brand_a):
    staff_manager = UserFactory(username="staff-manager", role=Role.MANAGER, is_staff=True)
    client = login(staff_manager)
    for model in MODELS:
        assert client.get(reverse(f"admin:monitoring_{model}_changelist")).status_code == 403
    assert client.get(reverse("admin:monitoring_monitoringsettings_add")).status_code == 403
