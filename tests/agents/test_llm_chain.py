"""The chain on a real (fake) OpenAI-compatible model over HTTP: malformed output is
retried, then escalated and shown on the campaign; and a worker killed mid-request
loses no work and doubles none."""

import time

import pytest

from agents.models import AgentRun, Handoff
from agents.services import agent_runs_reap
from approvals.models import ApprovalRequest
from campaigns.models import Campaign
from tests.stack import celery_worker

from .chain import drain
from .fake_llm import fake_openai_server, http_error, malformed, slow
from .test_agent_chain import submit


@pytest.fixture
def fake_model(settings):
    with fake_openai_server() as fake:
        settings.LLM_PROVIDER, settings.LLM_MODEL = "openai", "fake-model"
        settings.LLM_BASE_URL, settings.LLM_API_KEY = fake.base_url, "test-key"
        settings.LLM_OUTPUT_RETRIES = 2
        settings.LLM_PRICE_INPUT_PER_MTOK = settings.LLM_PRICE_OUTPUT_PER_MTOK = 1000
        yield fake


@pytest.mark.django_db
def test_malformed_output_is_retried_then_escalated_and_shown(fake_model, login, manager, brand_a):
    fake_model.script([malformed(), malformed({"campaign_id": 1, "steps": "all of them"})] * 2)
    campaign = submit(manager, brand_a)
    assert drain() == ["planner"]
    assert len(fake_model.requests) == 3  # one try and two retries, never more
    run = AgentRun.objects.get(agent="planner")
    assert run.status == "escalated"
    assert run.error.startswith("The model's output was still malformed after its retries")
    # The failed tries cost tokens, and that is recorded.
    assert run.input_tokens > 0 and run.cost > 0
    assert not Handoff.objects.exists()  # never passed on
    campaign.refresh_from_db()
    assert (campaign.phase, campaign.escalation_state) == ("escalated", "open")
    page = login(manager).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "malformed after its retries" in page


@pytest.mark.django_db
def test_an_unreachable_model_releases_the_run_for_a_retry(fake_model, manager, brand_a, settings):
    from agents import providers
    from agents.specialists import run_specialist

    settings.LLM_TIMEOUT_SECONDS = 1
    fake_model.script([slow(3, then=http_error())])
    submit(manager, brand_a)
    run = AgentRun.objects.get(agent="planner")
    with pytest.raises(providers.ModelUnavailable):
        run_specialist(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "queued" and run.error  # back in the queue; the task retries it
    # On the task's last try it is failed and escalated instead.
    fake_model.script([http_error(503)])
    run_specialist(run_id=run.pk, last_try=True)
    run.refresh_from_db()
    assert run.status == "failed" and "could not be reached" in run.error


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_loses_and_doubles_nothing(tmp_path, manager, brand_a):
    with fake_openai_server() as fake:
        fake.script([slow(60, then=http_error())])  # the model "thinks" for a minute
        model_env = {
            "LLM_PROVIDER": "openai",
            "LLM_BASE_URL": fake.base_url,
            "LLM_MODEL": "fake-model",
            "LLM_TIMEOUT_SECONDS": "120",
            "CONTROLTOWER_AGENT_LEASE_SECONDS": "3",
        }
        with celery_worker(tmp_path / "worker-1.log", **model_env) as worker:
            campaign = submit(manager, brand_a)
            fake.wait_for_requests(1, timeout=40)  # the planner is mid-request
            worker.kill()  # SIGKILL: no cleanup, no ack
            worker.wait()
        run = AgentRun.objects.get(agent="planner")
        assert (run.status, run.attempts) == ("running", 1)  # stranded

    # A new worker (on the offline composer) starts; the reaper finds the stranded run
    # once its lease is over and sends it again.
    with celery_worker(tmp_path / "worker-2.log", purge=False):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            agent_runs_reap()
            if Handoff.objects.filter(campaign=campaign, kind="experiment").exists():
                break
            time.sleep(1)
    run.refresh_from_db()
    assert (run.status, run.attempts, run.interruptions) == ("succeeded", 2, 1)
    assert Handoff.objects.filter(campaign=campaign, kind="plan").count() == 1
    assert ApprovalRequest.objects.filter(campaign=campaign).count() == 4
    assert AgentRun.objects.filter(campaign=campaign).count() == 4
    assert Campaign.objects.get(pk=campaign.pk).phase == "briefing"
