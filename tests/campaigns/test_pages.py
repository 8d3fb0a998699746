"""Campaign pages over HTTP: who sees what, and phase changes from the page."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_every_page_requires_login(client, campaign_a):
    for url in [
        reverse("tower"),
        reverse("tower"),
        reverse("campaigns:detail", args=[campaign_a.pk]),
        reverse("campaigns:brief_list"),
        reverse("campaigns:brief_create"),
        reverse("campaigns:brief_detail", args=[campaign_a.brief_id]),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_legal_reviewer_of_brand_a_gets_404_on_brand_b(login, legal_a, campaign_a, campaign_b):
    client = login(legal_a)
    assert client.get(reverse("campaigns:detail", args=[campaign_a.pk])).status_code == 200
    assert client.get(reverse("campaigns:detail", args=[campaign_b.pk])).status_code == 404
    assert (
        client.get(reverse("campaigns:brief_detail", args=[campaign_b.brief_id])).status_code == 404
    )
    listing = client.get(reverse("tower")).content.decode()
    assert "A campaign" in listing and "B campaign" not in listing
    assert "Brand B" not in listing  # not even as a filter option


def test_unassigned_user_sees_nothing(login, campaign_a):
    from governance.domain.roles import Role
    from tests.factories import UserFactory

    client = login(UserFactory(role=Role.MANAGER))
    assert client.get(reverse("campaigns:detail", args=[campaign_a.pk])).status_code == 404
    assert "A campaign" not in client.get(reverse("tower")).content.decode()


def test_admin_sees_every_brand(login, admin_user, campaign_a, campaign_b):
    listing = login(admin_user).get(reverse("tower")).content.decode()
    assert "A campaign" in listing and "B campaign" in listing


@pytest.mark.parametrize(
    ("who", "visible", "hidden"),
    [
        (
            "manager",
            [
                "Control tower",
                "Approvals",
                "Escalations",
                "Briefs",
                "New brief",
                "Agents",
                "Brand memory",
                "Contacts",
            ],
            ["Administration"],
        ),
        (
            "legal_a",
            ["Control tower", "Approvals", "Escalations", "Briefs", "Agents", "Brand memory"],
            ["New brief", "Contacts", "Administration"],
        ),
        (
            "admin_user",
            [
                "Control tower",
                "Approvals",
                "Escalations",
                "Briefs",
                "New brief",
                "Agents",
                "Brand memory",
                "Contacts",
                "Policies",
                "Webhooks",
                "Administration",
            ],
            [],
        ),
    ],
)
def test_navigation_shows_each_role_what_it_may_use(request, login, who, visible, hidden):
    user = request.getfixturevalue(who)
    response = login(user).get(reverse("tower"))
    labels = [item.label for item in response.context["nav_items"]]
    assert labels == visible
    for label in hidden:
        assert f">{label}</a>" not in response.content.decode()


def test_admin_site_is_for_admins_only(login, admin_user, manager):
    assert login(admin_user).get(reverse("admin:campaigns_brand_changelist")).status_code == 200


def test_manager_cannot_open_the_admin_site(client, manager):
    client.force_login(manager)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_manager_moves_a_phase_from_the_page(login, manager, campaign_a):
    client = login(manager)
    url = reverse("campaigns:transition", args=[campaign_a.pk])
    response = client.post(url, {"to_phase": "execution", "reason": ""}, follow=True)
    assert response.status_code == 200
    assert "A campaign is now execution." in response.content.decode()
    campaign_a.refresh_from_db()
    assert campaign_a.phase == "execution"
    history = response.context["history"]
    assert [(e.data["from"], e.data["to"]) for e in history] == [("briefing", "execution")]


def test_htmx_transition_returns_the_phase_panel_fragment(login, manager, campaign_a):
    client = login(manager)
    url = reverse("campaigns:transition", args=[campaign_a.pk])
    response = client.post(url, {"to_phase": "execution"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="phase-panel"')
    assert "<html" not in body and "Move to monitoring" in body


def test_refused_transition_from_the_page_says_why_and_writes_nothing(login, manager, campaign_a):
    client = login(manager)
    url = reverse("campaigns:transition", args=[campaign_a.pk])
    events = AuditEvent.objects.count()
    response = client.post(url, {"to_phase": "paused", "reason": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "a reason is required" in response.content.decode()
    response = client.post(url, {"to_phase": "completed"})
    assert response.status_code == 409
    assert "Cannot move from briefing to completed" in response.content.decode()
    assert Campaign.objects.get(pk=campaign_a.pk).phase == "briefing"
    assert AuditEvent.objects.count() == events


def test_legal_reviewer_sees_no_phase_controls_and_cannot_post_them(login, legal_a, campaign_a):
    client = login(legal_a)
    page = client.get(reverse("campaigns:detail", args=[campaign_a.pk])).content.decode()
    assert "Move to" not in page
    url = reverse("campaigns:transition", args=[campaign_a.pk])
    assert client.post(url, {"to_phase": "execution"}).status_code == 403
    assert Campaign.objects.get(pk=campaign_a.pk).phase == "briefing"


def test_transition_on_another_brands_campaign_is_404(login, legal_a, campaign_b):
    url = reverse("campaigns:transition", args=[campaign_b.pk])
    assert login(legal_a).post(url, {"to_phase": "execution"}).status_code == 404
