"""Poison input (issue 13): a run that fails on the same input every time is tried a
bounded number of times (``CONTROLTOWER_AGENT_MAX_ATTEMPTS``), then failed and its
campaign escalated with the last error, in plain words. Waiting for a person uses no
attempt, and a database blip after the claim never strands the run."""

import pytest
from django.db import OperationalError
from pydantic import BaseModel, ValidationError

from agents import services
from agents.models import AgentRun
from agents.specialists import SPECIALISTS, run_specialist
from campaigns.models import Campaign
from campaigns.services import campaign_transition_phase
from governance.domain.audit import Actor
from governance.models import AuditEvent
from monitoring.models import Escalation

from .test_agent_chain import submit

pytestmark = pytest.mark.django_db


class Tiny(BaseModel):
    title: str


def validation_error() -> ValidationError:
    try:
        Tiny.model_validate({"title": 10**6})
    except ValidationError as exc:
        return exc
    raise AssertionError("expected a ValidationError")


@pytest.fixture
def poisoned_planner(monkeypatch):
    """The planner fails the same way on its input, every time."""

    def produce(run):
        raise validation_error()

    monkeypatch.setattr(SPECIALISTS["planner"], "produce", produce)


def test_a_run_that_fails_every_time_escalates_after_its_attempts(
    poisoned_planner, manager, brand_a, settings
):
    settings.CONTROLTOWER_AGENT_MAX_ATTEMPTS = 4
    campaign = submit(manager, brand_a)
    run = AgentRun.objects.get(agent="planner")

    for attempt in range(1, 4):
        with pytest.raises(ValidationError):
            run_specialist(run_id=run.pk)  # the task fails loudly; the reaper re-sends it
        run.refresh_from_db()
        assert (run.status, run.attempts) == ("queued", attempt)
        assert run.error.startswith("ValidationError: 1 validation error for Tiny")

    with pytest.raises(ValidationError):
        run_specialist(run_id=run.pk)  # the fourth and last attempt
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("failed", 4)
    assert run.error.startswith(
        "failed 4 times on the same input: ValidationError: 1 validation error for Tiny"
    )
    escalation = Escalation.objects.get(campaign=campaign)
    assert escalation.summary.startswith(
        "Planner agent: failed 4 times on the same input: ValidationError: "
    )
    assert Campaign.objects.get(pk=campaign.pk).phase == "escalated"
    stopped = AuditEvent.objects.get(action="agent.run_failed", object_id=str(run.pk))
    assert stopped.data["kind"] == "retries_exhausted"

    # The reaper's next re-send finds nothing to do.
    assert run_specialist(run_id=run.pk) is None
    assert AgentRun.objects.get(pk=run.pk).attempts == 4


def test_the_claim_stops_a_run_that_has_used_its_attempts(campaign_a, settings):
    """However it got there (a limit lowered, a release that could not stop it): a run
    with no attempt left is never started again."""
    settings.CONTROLTOWER_AGENT_MAX_ATTEMPTS = 3
    run = AgentRun.objects.create(
        campaign=campaign_a,
        agent="content",
        key="content:poison",
        attempts=3,
        error="ValidationError: 1 validation error for DraftsV1",
    )
    assert services.agent_run_claim(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error == (
        "failed 3 times on the same input: ValidationError: 1 validation error for DraftsV1"
    )
    assert Escalation.objects.get(campaign=campaign_a).summary == (
        "Content agent: failed 3 times on the same input: "
        "ValidationError: 1 validation error for DraftsV1"
    )


def test_waiting_for_a_person_uses_no_attempt(manager, brand_a, settings):
    settings.CONTROLTOWER_AGENT_MAX_ATTEMPTS = 2
    campaign = submit(manager, brand_a)
    campaign_transition_phase(
        campaign_id=campaign.pk,
        to_phase="escalated",
        actor=Actor.for_user(manager),
        reason="Legal asked us to wait",
    )
    run = AgentRun.objects.get(agent="planner")
    for _ in range(5):  # the reaper re-sends it while the campaign stays escalated
        assert run_specialist(run_id=run.pk) is None
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("queued", 0)
    assert run.error == "Waiting: the campaign is Escalated."
    assert not AuditEvent.objects.filter(action="agent.run_started").exists()


def test_a_database_error_after_the_claim_gives_the_run_back_for_the_retry(
    manager, brand_a, monkeypatch
):
    """The task retries an OperationalError at once; before, the claim had committed the
    run as running, so the retry found it held and did nothing until the reaper."""
    submit(manager, brand_a)
    run = AgentRun.objects.get(agent="planner")
    complete = services.agent_run_complete
    calls = []

    def deadlocked_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected")
        return complete(**kwargs)

    monkeypatch.setattr(services, "agent_run_complete", deadlocked_once)
    with pytest.raises(OperationalError):
        run_specialist(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("queued", 1)
    assert run.error == "OperationalError: deadlock detected"

    run_specialist(run_id=run.pk)  # the task's retry
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("succeeded", 2)
