"""The lock order (``approvals.services``, "Lock order"), proven on PostgreSQL with two
connections at once: every writer ends at the audit chain head, so a service must never
hold a FOR UPDATE lock on a row an audit event points at while it waits for the head,
and never wait for a row once it holds the head. Each case sets up the interleaving
that deadlocked before issue 13's fix, and asserts both sides finish."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from agents.models import AgentRun, RunStatus
from agents.services import RunHold, Usage, agent_run_claim, agent_run_complete, hand_on
from approvals.services import action_propose
from campaigns.models import Campaign
from campaigns.services import campaign_record_spend, campaign_transition_phase
from governance.domain.audit import Actor
from governance.services import audit_record
from memory.services import memory_entry_create
from monitoring.domain.escalation import Source, Trigger
from monitoring.models import Escalation
from monitoring.services import (
    anomaly_flag_raise,
    escalation_acknowledge,
    escalation_raise,
    sla_evaluation_record,
)

pytestmark = pytest.mark.django_db(transaction=True)

TESTS = Actor.system("tests")
#: How long the first transaction keeps its locks after the second has started waiting.
HOLD_SECONDS = 0.6


def race(first: Callable[[threading.Event], Any], second: Callable[[], Any]) -> None:
    """Run ``first`` in a thread until it has taken its locks (it sets the event, then
    keeps them ``HOLD_SECONDS``), and ``second`` meanwhile in another; both must finish
    without an error (PostgreSQL's deadlock detector would fail one after 1 s)."""
    ready = threading.Event()
    errors: list[BaseException] = []

    def run(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except BaseException as exc:  # reported below, whatever it is
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(lambda: first(ready),)),
        threading.Thread(target=run, args=(lambda: (ready.wait(10), second()),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors


def audit_and_hold(campaign: Campaign) -> Callable[[threading.Event], None]:
    """A writer that has written its audit event (it holds the head, and its event's
    foreign keys to the brand and campaign are checked when it commits)."""

    def first(ready: threading.Event) -> None:
        with transaction.atomic():
            audit_record(
                actor=TESTS,
                action="tests.held",
                target=campaign,
                brand_id=campaign.brand_id,
                campaign_id=campaign.pk,
            )
            ready.set()
            time.sleep(HOLD_SECONDS)

    return first


def lock_and_hold(lock: Callable[[], Any], campaign: Campaign) -> Callable[[threading.Event], None]:
    """A writer in the documented order: its row locks first, then its audit event."""

    def first(ready: threading.Event) -> None:
        with transaction.atomic():
            lock()
            ready.set()
            time.sleep(HOLD_SECONDS)
            audit_record(
                actor=TESTS,
                action="tests.held",
                target=campaign,
                brand_id=campaign.brand_id,
                campaign_id=campaign.pk,
            )

    return first


def lock_campaign(campaign: Campaign) -> Callable[[], Any]:
    return lambda: Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)


# --- Parent rows are locked FOR NO KEY UPDATE --------------------------------------------
# Before: each of these locked the campaign (or brand) FOR UPDATE, then waited for the
# head; the head-holder's commit waited for FOR KEY SHARE on that row: a deadlock.

SERVICES_LOCKING_THE_CAMPAIGN = {
    "sla_evaluation_record": lambda c, m: sla_evaluation_record(
        campaign_id=c.pk,
        sla="response_time",
        status="on_track",
        measured="1 min",
        target="15 min",
        actor=TESTS,
    ),
    "campaign_record_spend": lambda c, m: campaign_record_spend(
        campaign_id=c.pk, amount=Decimal("5"), actor=TESTS
    ),
    "anomaly_flag_raise": lambda c, m: anomaly_flag_raise(
        campaign_id=c.pk, kind="cpm_spike", explanation="CPM up", response="continue", actor=TESTS
    ),
    "action_propose": lambda c, m: action_propose(
        campaign_id=c.pk,
        action="launch_campaign",
        payload={"reason": "Ready"},
        actor=Actor.for_agent("planner"),
        summary="Launch",
    ),
    "campaign_transition_phase": lambda c, m: campaign_transition_phase(
        campaign_id=c.pk, to_phase="paused", actor=Actor.for_user(m), reason="Hold on"
    ),
    "escalation_raise": lambda c, m: escalation_raise(
        campaign_id=c.pk,
        trigger=Trigger(source=Source.FLAG, flag_response="escalate", summary="CPA too high"),
    ),
    "memory_entry_create (the brand's row)": lambda c, m: memory_entry_create(
        brand_id=c.brand_id, kind="voice_rule", text="Warm and plain-spoken.", actor=TESTS
    ),
}


@pytest.mark.parametrize("service", SERVICES_LOCKING_THE_CAMPAIGN)
def test_a_service_waiting_for_the_head_never_blocks_the_head_holders_commit(
    service, campaign_a, manager
):
    race(
        audit_and_hold(campaign_a),
        lambda: SERVICES_LOCKING_THE_CAMPAIGN[service](campaign_a, manager),
    )


def test_an_agent_run_commit_never_blocks_the_head_holders_commit(campaign_a):
    run = AgentRun.objects.create(campaign=campaign_a, agent="research", key="research:lock")
    hold = agent_run_claim(run_id=run.pk)
    race(
        audit_and_hold(campaign_a),
        lambda: agent_run_complete(claim=hold, usage=Usage(), commit=lambda held: True),
    )
    assert AgentRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED


def test_a_claim_waits_for_its_run_and_does_the_work(campaign_a):
    """Before: a claim skipped a run whose row (or campaign, or brand) another
    transaction held for a moment, and the run sat queued until the reaper."""
    run = AgentRun.objects.create(campaign=campaign_a, agent="research", key="research:wait")
    holds: list[RunHold | None] = []
    race(
        lock_and_hold(lambda: AgentRun.objects.select_for_update().get(pk=run.pk), campaign_a),
        lambda: holds.append(agent_run_claim(run_id=run.pk)),
    )
    assert holds and holds[0] is not None and holds[0].attempt == 1


# --- Nothing waits for a row after the first audit event ----------------------------------


def test_a_run_stopped_at_its_claim_locks_its_campaign_before_the_head(campaign_a, settings):
    """Before: ``_stop`` wrote the run's audit event, then the escalation locked the
    campaign — waiting for a row while holding the head."""
    settings.CONTROLTOWER_AGENT_MAX_INTERRUPTIONS = 2
    run = AgentRun.objects.create(
        campaign=campaign_a, agent="research", key="research:died", interruptions=2
    )
    race(
        lock_and_hold(lock_campaign(campaign_a), campaign_a),
        lambda: agent_run_claim(run_id=run.pk),
    )
    assert AgentRun.objects.get(pk=run.pk).status == RunStatus.FAILED


def test_a_commit_that_hands_on_then_proposes_locks_its_campaign_first(campaign_a):
    """The content agent's commit: its handoff's audit event, then a proposal through the
    gate, which locks the campaign — held already, since a run's commit locks the run,
    then its campaign, before anything else."""
    run = AgentRun.objects.create(campaign=campaign_a, agent="research", key="research:gate")
    hold = agent_run_claim(run_id=run.pk)

    def commit(held: AgentRun) -> bool:
        hand_on(held, "research", _research(campaign_a))
        action_propose(
            campaign_id=campaign_a.pk,
            action="launch_campaign",
            payload={"reason": "Ready"},
            actor=Actor.for_agent("research"),
            summary="Launch",
        )
        return True

    race(
        lock_and_hold(lock_campaign(campaign_a), campaign_a),
        lambda: agent_run_complete(claim=hold, usage=Usage(), commit=commit),
    )
    assert AgentRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED


def test_leaving_escalated_locks_the_escalations_before_the_head(campaign_a, manager):
    """Before: the phase change wrote its audit event, then locked the escalations it
    resolves — one of which the climbing sweep could hold, waiting for the head."""
    Campaign.objects.filter(pk=campaign_a.pk).update(phase="execution")
    escalation_raise(
        campaign_id=campaign_a.pk,
        trigger=Trigger(source=Source.FLAG, flag_response="escalate", summary="CPA too high"),
    )
    escalation = Escalation.objects.get(campaign=campaign_a)
    race(
        lock_and_hold(
            lambda: Escalation.objects.select_for_update().get(pk=escalation.pk), campaign_a
        ),
        lambda: campaign_transition_phase(
            campaign_id=campaign_a.pk,
            to_phase="execution",
            actor=Actor.for_user(manager),
            reason="Handled",
        ),
    )
    assert Escalation.objects.get(pk=escalation.pk).status == "resolved"


def test_answering_an_escalation_locks_its_campaign_first(campaign_a, manager):
    """Before: acknowledging locked the escalation, wrote its audit event, then updated
    the campaign's escalation state — a row lock after the head."""
    escalation = escalation_raise(
        campaign_id=campaign_a.pk,
        trigger=Trigger(source=Source.FLAG, flag_response="escalate", summary="CPA too high"),
    )
    race(
        lock_and_hold(lock_campaign(campaign_a), campaign_a),
        lambda: escalation_acknowledge(escalation_id=escalation.pk, user=manager),
    )
    assert Escalation.objects.get(pk=escalation.pk).status == "acknowledged"


def _research(campaign: Campaign) -> dict[str, Any]:
    return {
        "campaign_id": campaign.pk,
        "segments": [{"name": "Lapsed subscribers", "rationale": "They know us"}],
        "insights": ["Freshness sells"],
    }
