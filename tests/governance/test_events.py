"""The registry the apps react through: what is announced, when, and who reacts."""

from __future__ import annotations

import logging

import pytest
from django.core.management import call_command
from django.db import transaction
from django.dispatch import Signal

from governance import events, executors
from governance.domain.actions import ActionType
from governance.domain.errors import DomainError

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def probe():
    """A signal of the test's own, with a receiver that remembers what it was told."""
    signal = Signal()
    heard: list[dict] = []

    def receiver(sender, signal, **ids):
        heard.append(ids)

    signal.connect(receiver, weak=False)
    return signal, heard


def test_after_commit_a_receiver_hears_the_ids(probe):
    signal, heard = probe
    with transaction.atomic():
        events.announce_on_commit(signal, campaign_id=7)
        assert heard == []  # not before the commit
    assert heard == [{"campaign_id": 7}]


def test_a_rolled_back_change_announces_nothing(probe):
    signal, heard = probe
    with pytest.raises(RuntimeError), transaction.atomic():
        events.announce_on_commit(signal, campaign_id=7)
        raise RuntimeError("the change failed")
    assert heard == []


def test_a_failing_follow_up_is_logged_not_raised(probe, caplog):
    signal, heard = probe

    def broken(sender, **ids):
        raise ConnectionError("redis is down")

    signal.connect(broken, weak=False)
    with caplog.at_level(logging.ERROR, logger="governance.events"), transaction.atomic():
        events.announce_on_commit(signal, campaign_id=3)
    assert heard == [{"campaign_id": 3}]  # the others still hear it
    assert "redis is down" in caplog.text


def test_in_the_transaction_a_failing_receiver_fails_the_change(probe):
    signal, _ = probe

    def broken(sender, **ids):
        raise DomainError("refused")

    signal.connect(broken, weak=False)
    with pytest.raises(DomainError):
        events.announce(signal, campaign_id=1)


def test_an_unknown_public_announcement_is_refused():
    with pytest.raises(ValueError, match="Unknown event type"):
        events.announce_publicly(event="campaign.exploded", brand_id=1, data={})


def test_every_app_registers_what_it_reacts_to():
    """The reactions the apps registered in their ready(): if one is lost, its follow-up
    silently stops (no push, no webhook, no escalation), so they are pinned here."""
    wired = set(events.subscribers())
    for event, receiver in [
        ("campaign_changed", "controltower.subscribers._campaign_changed"),
        ("access_changed", "controltower.subscribers._access_changed"),
        ("announced", "integrations.subscribers._announced"),
        ("planning_requested", "agents.subscribers._plan"),
        ("content_cleared", "agents.subscribers._publish_cleared"),
        ("phase_changed", "agents.subscribers._follow_phase"),
        ("phase_changing", "monitoring.subscribers._lock_escalations"),
        ("phase_changed", "monitoring.subscribers._escalate_or_resolve"),
        ("people_to_notify", "monitoring.subscribers._notify"),
    ]:
        assert (event, receiver) in wired, f"{event} → {receiver} is not connected"


def test_each_action_the_gate_carries_out_has_its_owners_executor():
    owners = {
        action: executor.run.__module__.split(".")[0]
        for action, executor in executors.registered().items()
    }
    assert owners == {
        ActionType.PUBLISH_CONTENT: "campaigns",
        ActionType.LAUNCH_CAMPAIGN: "campaigns",
        ActionType.CHANGE_BUDGET: "campaigns",
        ActionType.PAUSE: "monitoring",
        ActionType.UPDATE_BRAND_MEMORY: "memory",
        ActionType.REALLOCATE_BUDGET: "agents",
        ActionType.ADJUST_AUTONOMY: "approvals",
    }
    with pytest.raises(DomainError, match="Send email” cannot be carried out yet"):
        executors.executor_for(ActionType.SEND_EMAIL)


def test_a_second_executor_for_one_action_is_a_bug():
    with pytest.raises(RuntimeError, match="already has an executor"):
        executors.register(
            ActionType.PAUSE, executors.Executor(validate=lambda p: None, run=lambda *a: None)
        )


def test_the_subscribers_command_lists_them(capsys):
    call_command("subscribers")
    out = capsys.readouterr().out
    assert "campaign_changed" in out and "controltower.subscribers._campaign_changed" in out
    assert "launch_campaign" in out and "campaigns.executors._launch" in out
