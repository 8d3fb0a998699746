"""Forms say everything wrong at once and refuse absurd values: the fields' own checks
and the domain's rules (``validate_brief``) run in one pass; a CPA of -3, a deadline of
9999-12-31 and the like are refused with a clear message, in the form and the API alike,
and nothing is saved."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.domain.briefs import MAX_DEADLINE_DAYS, BriefSpec, validate_brief
from campaigns.models import Brief, Campaign
from governance.models import AuditEvent
from tests.api.helpers import api_as, brief_body

from .test_brief_form import valid_post

pytestmark = pytest.mark.django_db
URL = reverse("campaigns:brief_create")
TODAY = date(2026, 3, 1)


def counts():
    return Brief.objects.count(), Campaign.objects.count(), AuditEvent.objects.count()


def field_errors(response) -> dict[str, list[str]]:
    form = response.context["form"]
    return {name: list(errors) for name, errors in form.errors.items()}


def test_an_empty_brief_shows_every_problem_on_the_first_submit(login, manager, brand_a):
    response = login(manager).post(URL, {"brand": brand_a.pk, "intent": "submit"})
    assert response.status_code == 422
    errors = field_errors(response)
    # The fields' own (title, objective) and the domain's (the rest), together.
    for field in ("title", "objective", "budget", "deadline", "success_metric", "channels"):
        assert field in errors, (field, errors)
    assert errors["budget"] == ["Give the campaign a budget."]
    page = response.content.decode()
    assert page.count('class="field-error"') >= 6


def test_a_field_that_fails_its_own_check_shows_only_that_message(login, manager, brand_a):
    past = (timezone.localdate() - timedelta(days=3)).isoformat()
    response = login(manager).post(URL, valid_post(brand_a, budget="lots", deadline=past))
    errors = field_errors(response)
    assert errors["budget"] == ["Enter a number in plain digits, like 12000 or 12.50."]
    assert "is in the past" in errors["deadline"][0]  # the domain's, in the same pass


def absurd(today):
    return [
        ({"success_target": "-3"}, "success_target", "more than zero"),
        ({"success_target": "0"}, "success_target", "more than zero"),
        ({"deadline": "9999-12-31"}, "deadline", "more than two years ahead"),
        ({"deadline": (today - timedelta(days=1)).isoformat()}, "deadline", "in the past"),
        ({"budget": "0"}, "budget", "more than zero"),
        ({"budget": "-500"}, "budget", "more than zero"),
        ({"budget": "999999999999"}, "budget", "implausibly large"),
        ({"success_target": "5000000000"}, "success_target", "implausibly large"),
        ({"success_metric": "ctr", "success_target": "150"}, "success_target", "at most 100"),
        ({"success_metric": "conversions", "success_target": "2.5"}, "success_target", "whole"),
        ({"success_metric": "roas", "success_target": "500"}, "success_target", "not a plan"),
        ({"success_target": "20000"}, "success_target", "more than the whole budget"),
        ({"daily_cap": "20000"}, "daily_cap", "more than the whole budget"),
        ({"sla_draft_hours": "99999"}, "sla_draft_hours", "from 1 to 720"),
        ({"sla_qa_pass_pct": "0"}, "sla_qa_pass_pct", "from 1 to 100"),
        ({"sla_policy_escalation_minutes": "100000"}, "sla_policy_escalation_minutes", "10,080"),
        ({"sla_pacing_tolerance_pct": "101"}, "sla_pacing_tolerance_pct", "from 1 to 100"),
    ]


@pytest.mark.parametrize("case", range(len(absurd(TODAY))))
def test_the_form_refuses_absurd_values_and_saves_nothing(login, manager, brand_a, case):
    changes, field, words = absurd(timezone.localdate())[case]
    before = counts()
    response = login(manager).post(URL, valid_post(brand_a, **changes))
    assert response.status_code == 422
    errors = field_errors(response)
    assert field in errors and words in " ".join(errors[field]), errors
    assert counts() == before


@pytest.mark.parametrize("case", range(len(absurd(TODAY))))
def test_the_api_refuses_the_same_values(manager, brand_a, case):
    changes, field, words = absurd(timezone.localdate())[case]
    response = api_as(manager).post("/api/v1/briefs", brief_body("brand-a", **changes))
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors, errors
    if field != "budget" or changes["budget"] != "999999999999":  # the serializer's digits
        assert any(words in message for message in errors[field]) or field.startswith("sla_")
    assert not Brief.objects.exists()


def test_the_latest_deadline_is_two_years_ahead_and_said():
    spec = BriefSpec(
        title="T",
        objective="O",
        budget=Decimal(1000),
        deadline=TODAY + timedelta(days=MAX_DEADLINE_DAYS),
        success_metric="cpa",
        channels=["email"],
    )
    assert validate_brief(spec, today=TODAY, max_budget=10_000) == {}
    later = BriefSpec(**{**spec.__dict__, "deadline": spec.deadline + timedelta(days=1)})
    message = validate_brief(later, today=TODAY, max_budget=10_000)["deadline"][0]
    assert (TODAY + timedelta(days=MAX_DEADLINE_DAYS)).isoformat() in message


def test_the_form_says_the_deadline_window(login, manager):
    page = login(manager).get(URL).content.decode()
    latest = (timezone.localdate() + timedelta(days=MAX_DEADLINE_DAYS)).isoformat()
    assert f"up to two years ahead ({latest})" in page
    assert 'max="720"' in page  # the draft SLA's bound, for the browser too


def test_a_sensible_brief_still_goes_through(login, manager, brand_a):
    changes = {"success_metric": "ctr", "success_target": "2.5", "sla_qa_pass_pct": "100"}
    response = login(manager).post(URL, valid_post(brand_a, **changes))
    assert response.status_code == 302
    assert Campaign.objects.count() == 1
