"""The brief form over HTTP: each bad input is refused with its message and nothing is saved."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Brief, Campaign
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db
URL = reverse("campaigns:brief_create")


def valid_post(brand, **changes):
    data = {
        "brand": brand.pk,
        "title": "Winter warmers",
        "objective": "Grow repeat orders by 15 %",
        "audience": "Lapsed subscribers",
        "tone": "Cosy",
        "offer": "Free grinder",
        "assets": "Email\nHero banner",
        "required_claims": "Roasted to order",
        "prohibited_claims": "Best coffee in the world",
        "channels": ["email", "social_ads"],
        "budget": "12000",
        "deadline": (timezone.localdate() + timedelta(days=20)).isoformat(),
        "success_metric": "cpa",
        "success_target": "25",
        "escalation_criteria": "CPA above 30 for 2 h",
        "sla_draft_hours": "2",
        "sla_qa_pass_pct": "95",
        "sla_policy_escalation_minutes": "10",
        "sla_pacing_tolerance_pct": "10",
        "intent": "submit",
    }
    data.update(changes)
    return data


def counts():
    return Brief.objects.count(), Campaign.objects.count(), AuditEvent.objects.count()


def test_submitting_a_brief_starts_its_campaign_in_briefing(login, manager, brand_a):
    response = login(manager).post(URL, valid_post(brand_a))
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert campaign.phase == "briefing" and campaign.owner == manager
    assert campaign.budget_total == 12000 and campaign.brand == brand_a
    brief = campaign.brief
    assert brief.assets == ["Email", "Hero banner"] and brief.channels == ["email", "social_ads"]
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["brief.submitted", "campaign.created", "campaign.phase_changed"]


def test_saving_a_template_starts_no_campaign_and_it_prefills_the_next_brief(
    login, manager, brand_a
):
    client = login(manager)
    response = client.post(URL, valid_post(brand_a, intent="template", title="Seasonal"))
    template = Brief.objects.get()
    assert response.status_code == 302 and template.is_template
    assert Campaign.objects.count() == 0
    page = client.get(URL, {"template": template.pk})
    assert page.status_code == 200
    assert page.context["form"].initial["title"] == "Seasonal"
    assert "Roasted to order" in page.content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"deadline": "2020-01-01"}, "deadline", "The deadline 2020-01-01 is in the past"),
        ({"budget": "0"}, "budget", "The budget must be more than zero."),
        ({"budget": "-10"}, "budget", "The budget must be more than zero."),
        ({"budget": "99000000000"}, "budget", "is implausibly large"),
        (
            {"required_claims": "Roasted to order", "prohibited_claims": "roasted to order"},
            "prohibited_claims",
            "“Roasted to order” is both required and prohibited",
        ),
        ({"success_metric": ""}, "success_metric", "Choose the success metric"),
        ({"channels": ["email", "carrier_pigeon"]}, "channels", "Unknown channel “carrier_pigeon”"),
        ({"budget": "lots"}, "budget", "Enter a number in plain digits, like 12000 or 12.50."),
        ({"title": ""}, "title", "This field is required."),
    ],
)
def test_bad_input_is_refused_with_its_message_and_nothing_is_saved(
    login, manager, brand_a, changes, field, message
):
    before = counts()
    response = login(manager).post(URL, valid_post(brand_a, **changes))
    assert response.status_code == 422
    assert any(message in error for error in response.context["form"].errors[field])
    assert message.replace("“", "&ldquo;")[:20] in response.content.decode() or message[:20] in (
        response.content.decode()
    )
    assert counts() == before


def test_a_brand_the_manager_is_not_assigned_to_cannot_be_chosen(login, brand_a):
    from governance.domain.roles import Role
    from tests.factories import BrandFactory, UserFactory

    other = BrandFactory()
    solo = UserFactory(role=Role.MANAGER, brands=[brand_a])
    before = counts()
    response = login(solo).post(URL, valid_post(other))
    assert response.status_code == 422
    assert "brand" in response.context["form"].errors
    assert counts() == before


def test_legal_reviewers_cannot_write_briefs(login, legal_a, brand_a):
    client = login(legal_a)
    assert client.get(URL).status_code == 403
    assert client.post(URL, valid_post(brand_a)).status_code == 403
    assert Brief.objects.count() == 0
