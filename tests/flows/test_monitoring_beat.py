"""Escalation timers and SLA clocks run from a real Celery beat and worker, from what
the database says is due — so a restart of both loses nothing."""

import time
from datetime import timedelta

import pytest

from campaigns.models import Campaign
from governance.domain.roles import Role
from monitoring.domain.escalation import Source, Trigger
from monitoring.models import Escalation, SlaEvaluation
from monitoring.services import escalation_raise
from tests.factories import UserFactory
from tests.stack import celery_beat, celery_worker

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def wait_until(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def backdate(escalation, minutes):
    """As if the escalation had waited ``minutes`` at its tier already."""
    row = Escalation.objects.get(pk=escalation.pk)
    Escalation.objects.filter(pk=row.pk).update(
        entered_level_at=row.entered_level_at - timedelta(minutes=minutes),
        next_climb_at=row.next_climb_at - timedelta(minutes=minutes),
    )


def test_escalations_climb_and_sla_clocks_tick_across_a_restart(tmp_path, campaign_a, brand_a):
    UserFactory(username="manager-2", role=Role.MANAGER, brands=[brand_a])
    UserFactory(username="boss", role=Role.ADMIN)
    Campaign.objects.filter(pk=campaign_a.pk).update(
        created_at=campaign_a.created_at - timedelta(minutes=20)
    )
    escalation = escalation_raise(
        campaign_id=campaign_a.pk,
        trigger=Trigger(source=Source.FLAG, flag_response="escalate", summary="CPA too high"),
    )
    backdate(escalation, 15)

    def level():
        return Escalation.objects.get(pk=escalation.pk).level

    with (
        celery_worker(tmp_path / "worker-1.log"),
        celery_beat(tmp_path / "beat-1.log", schedule_seconds=1),
    ):
        assert wait_until(lambda: level() == 1), (tmp_path / "worker-1.log").read_text()[-3000:]
        # The SLA clock: the brief waited 20 minutes for the planner (target 15).
        assert wait_until(
            lambda: SlaEvaluation.objects.filter(
                campaign=campaign_a, sla="response_time", status="breached"
            ).exists()
        )
    assert "monitoring.climb_escalations" in (tmp_path / "worker-1.log").read_text()

    # Both processes are gone; the next tier's clock lives in the database.
    backdate(escalation, 30)
    with (
        celery_worker(tmp_path / "worker-2.log", purge=False),
        celery_beat(tmp_path / "beat-2.log", schedule_seconds=1),
    ):
        assert wait_until(lambda: level() == 2), (tmp_path / "worker-2.log").read_text()[-3000:]
    told = set(escalation_recipients_told(escalation))
    assert {"manager", "manager-2", "boss"} <= told


def escalation_recipients_told(escalation):
    return Escalation.objects.get(pk=escalation.pk).notifications.values_list(
        "recipient__username", flat=True
    )
