"""SLA timers on the approval queues: the pure clock, the sweep that escalates overdue
requests and applies each action's safe default, and the sweep firing from Celery beat."""

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from approvals.domain.policy import DEFAULT_POLICY, Mode, Rule, policy_to_json, with_rule
from approvals.domain.timers import (
    FALLBACK_RULE,
    LEGAL_RULE,
    SafeDefault,
    TimerStatus,
    escalation_tier,
    format_duration,
    timer_rule,
    timer_state,
)
from approvals.models import ApprovalRequest, DelegationPolicy
from approvals.services import (
    AlreadyDecided,
    SweepResult,
    action_propose,
    approval_decide,
    approval_timers_sweep,
)
from campaigns.models import Campaign
from campaigns.services import campaign_transition_phase
from governance import executors
from governance.domain.actions import ActionType
from governance.domain.audit import Actor
from governance.domain.roles import Role
from governance.executors import Executor
from governance.models import AuditEvent

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)
MONDAY_9 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# --- The pure rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "sla", "default"),
    [
        ("launch_campaign", 4 * H, SafeDefault.EXPIRE),
        ("change_budget", 2 * H, SafeDefault.EXPIRE),
        ("reallocate_budget", 2 * H, SafeDefault.EXPIRE),
        ("publish_content", 8 * H, SafeDefault.EXPIRE),
        ("send_email", 8 * H, SafeDefault.EXPIRE),
        ("select_audience", 8 * H, SafeDefault.EXPIRE),
        ("pause", 30 * MIN, SafeDefault.APPROVE),
        ("update_brand_memory", 24 * H, SafeDefault.EXPIRE),
    ],
)
def test_each_action_type_has_a_response_time_and_a_safe_default(action, sla, default):
    rule = timer_rule(action, Role.MANAGER.value)
    assert (rule.sla, rule.safe_default, rule.name) == (sla, default, f"{action}.timeout")
    assert rule.hard_deadline == 2 * sla


def test_legal_review_gets_a_day_and_silence_never_clears_a_claim():
    for action in ("launch_campaign", "publish_content", "pause"):
        assert timer_rule(action, Role.LEGAL.value) == LEGAL_RULE
    assert (LEGAL_RULE.sla, LEGAL_RULE.safe_default) == (24 * H, SafeDefault.EXPIRE)


def test_a_recommendation_is_never_adopted_by_default():
    rule = timer_rule("pause", Role.MANAGER.value, is_recommendation=True)
    assert (rule.sla, rule.safe_default, rule.name) == (
        30 * MIN,
        SafeDefault.EXPIRE,
        "pause.timeout.recommendation",
    )


def test_actions_without_a_rule_of_their_own_expire_after_a_working_day():
    assert timer_rule("draft_content", Role.MANAGER.value) == FALLBACK_RULE
    assert timer_rule("no_such_action", Role.ADMIN.value) == FALLBACK_RULE
    assert (FALLBACK_RULE.sla, FALLBACK_RULE.safe_default) == (8 * H, SafeDefault.EXPIRE)


def test_escalation_goes_one_tier_up_and_stops_at_the_admins():
    assert escalation_tier(Role.MANAGER.value) == Role.ADMIN.value
    assert escalation_tier(Role.LEGAL.value) == Role.ADMIN.value
    assert escalation_tier(Role.ADMIN.value) is None


@pytest.mark.parametrize(
    ("elapsed", "status", "escalate", "apply_default"),
    [
        (timedelta(0), TimerStatus.ON_TRACK, False, False),
        (2 * H - SEC, TimerStatus.ON_TRACK, False, False),
        (2 * H, TimerStatus.AT_RISK, False, False),  # 50 % of a 4 h SLA
        (4 * H - SEC, TimerStatus.AT_RISK, False, False),
        (4 * H, TimerStatus.OVERDUE, True, False),  # due: escalate
        (8 * H - SEC, TimerStatus.OVERDUE, True, False),
        (8 * H, TimerStatus.EXPIRED, False, True),  # twice the SLA: the safe default
        (30 * H, TimerStatus.EXPIRED, False, True),
    ],
)
def test_the_clock_of_a_four_hour_sla(elapsed, status, escalate, apply_default):
    state = timer_state(MONDAY_9, MONDAY_9 + elapsed, 4 * H)
    assert (state.status, state.escalate, state.apply_default) == (status, escalate, apply_default)
    assert state.due_at == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
    assert state.deadline_at == datetime(2026, 1, 5, 17, 0, tzinfo=UTC)
    assert state.time_left == 4 * H - elapsed
    assert state.default_in == 8 * H - elapsed


def test_an_overdue_request_escalates_once_and_only_where_a_tier_is_above():
    overdue = MONDAY_9 + 5 * H
    assert timer_state(MONDAY_9, overdue, 4 * H).escalate
    assert not timer_state(MONDAY_9, overdue, 4 * H, escalated=True).escalate
    top = timer_state(MONDAY_9, overdue, 4 * H, can_escalate=False)
    assert (top.status, top.escalate) == (TimerStatus.OVERDUE, False)


def test_a_request_before_its_clock_started_is_on_track_and_an_sla_must_be_positive():
    assert timer_state(MONDAY_9, MONDAY_9 - H, 4 * H).status == TimerStatus.ON_TRACK
    with pytest.raises(ValueError, match="positive"):
        timer_state(MONDAY_9, MONDAY_9, timedelta(0))


@pytest.mark.parametrize(
    ("elapsed", "label"),
    [
        (timedelta(0), "4 h left"),
        (40 * MIN, "3 h 20 min left"),
        (3 * H + 59 * MIN + 30 * SEC, "< 1 min left"),
        (4 * H + 15 * MIN, "Overdue by 15 min"),
        (9 * H, "Past its deadline"),
    ],
)
def test_what_the_queue_card_says(elapsed, label):
    assert timer_state(MONDAY_9, MONDAY_9 + elapsed, 4 * H).label == label


def test_durations_read_like_a_person_writes_them():
    assert [format_duration(d) for d in (SEC, 45 * MIN, H, 2 * H + 5 * MIN, 26 * H)] == [
        "< 1 min",
        "45 min",
        "1 h",
        "2 h 5 min",
        "26 h",
    ]


# --- The sweep ------------------------------------------------------------------------

PLANNER = Actor.for_agent("planner")
NOTHING = SweepResult()  # nothing listed, locked, changed or failed
PERFORMANCE = Actor.for_agent("performance")


def propose_launch(campaign, **kwargs):
    return action_propose(
        campaign_id=campaign.pk,
        action="launch_campaign",
        payload={"reason": "Creative approved by QA"},
        actor=PLANNER,
        summary="Launch the campaign",
        **kwargs,
    ).approval


def propose_pause(campaign):
    """A pause held for approval: the brand's policy says agents need one to pause."""
    strict = with_rule(DEFAULT_POLICY, ActionType.PAUSE, Rule(Mode.NEEDS_APPROVAL), version=2)
    DelegationPolicy.objects.get_or_create(
        brand=campaign.brand,
        version=2,
        defaults={"rules": policy_to_json(strict), "status": "active"},
    )
    return action_propose(
        campaign_id=campaign.pk,
        action="pause",
        payload={"reason": "CPA above the control limit"},
        actor=PERFORMANCE,
        summary="Pause: CPA above the control limit",
    ).approval


def fresh(approval):
    return ApprovalRequest.objects.get(pk=approval.pk)


def audited(action):
    return AuditEvent.objects.filter(action=action)


def phase_of(campaign):
    return Campaign.objects.get(pk=campaign.pk).phase


@pytest.mark.django_db
class TestClockAtCreation:
    def test_the_gate_starts_the_clock_and_records_when_the_answer_is_due(self, campaign_a):
        approval = propose_launch(campaign_a)
        assert approval.due_at - approval.created_at == 4 * H
        requested = audited("approval.requested").get()
        assert requested.data["due_at"] == approval.due_at.isoformat()

    def test_legal_and_submitted_requests_get_their_clock_too(self, campaign_a):
        legal = propose_launch(campaign_a, claims=["Clinically proven"])
        assert legal.due_at - legal.created_at == 24 * H
        budget = action_propose(
            campaign_id=campaign_a.pk,
            action="change_budget",
            payload={"new_total": "20000", "reason": "Scale the winner"},
            actor=PERFORMANCE,
            summary="Raise the budget",
            amount=Decimal("5000"),
        ).approval
        assert budget.queue_role == Role.MANAGER.value
        assert budget.due_at - budget.created_at == 2 * H

    def test_the_card_reads_time_left_and_has_no_clock_once_decided(self, campaign_a, manager):
        approval = propose_launch(campaign_a)
        timer = fresh(approval).timer
        assert timer.status == TimerStatus.ON_TRACK and timer.label == "3 h 59 min left"
        at_risk = fresh(approval).timer_state(approval.created_at + 3 * H)
        assert (at_risk.status, at_risk.label) == (TimerStatus.AT_RISK, "1 h left")
        approval_decide(approval_id=approval.pk, user=manager, approve=True)
        assert fresh(approval).timer is None


@pytest.mark.django_db
class TestSweep:
    def test_on_track_and_at_risk_requests_are_left_alone(self, campaign_a):
        approval = propose_launch(campaign_a)
        before = AuditEvent.objects.count()
        for elapsed in (timedelta(0), 2 * H, 4 * H - SEC):
            assert approval_timers_sweep(now=approval.created_at + elapsed) == NOTHING
        assert fresh(approval).status == "pending" and fresh(approval).escalated_at is None
        assert AuditEvent.objects.count() == before

    def test_an_overdue_request_escalates_once_and_its_queue_can_still_decide(
        self, campaign_a, manager
    ):
        approval = propose_launch(campaign_a)
        now = approval.created_at + 4 * H
        assert approval_timers_sweep(now=now).escalated == [approval.pk]
        escalated = fresh(approval)
        assert escalated.status == "pending"
        assert (escalated.escalated_at, escalated.escalated_to) == (now, Role.ADMIN.value)
        event = audited("approval.escalated").get()
        assert event.actor_label == "system:approval-timers"
        assert (event.data["from"], event.data["to"], event.data["rule"]) == (
            Role.MANAGER.value,
            Role.ADMIN.value,
            "launch_campaign.timeout",
        )
        # Idempotent: the same tick again, or later ticks before the deadline, do nothing.
        for later in (now, now + H, now + 4 * H - SEC):
            assert approval_timers_sweep(now=later) == NOTHING  # not even looked at
        assert audited("approval.escalated").count() == 1
        approval_decide(approval_id=approval.pk, user=manager, approve=True)
        assert phase_of(campaign_a) == "execution"

    def test_a_legal_request_escalates_to_the_admins_and_expires_after_two_days(self, campaign_a):
        approval = propose_launch(campaign_a, claims=["Clinically proven"])
        assert approval_timers_sweep(now=approval.created_at + 8 * H).changed == 0
        assert approval_timers_sweep(now=approval.created_at + 24 * H).escalated == [approval.pk]
        assert audited("approval.escalated").get().data["to"] == Role.ADMIN.value
        assert approval_timers_sweep(now=approval.created_at + 48 * H).expired == [approval.pk]
        assert audited("approval.expired").get().data["rule"] == "legal_review.timeout"

    def test_an_unanswered_launch_expires_as_rejected_and_nothing_runs(self, campaign_a, manager):
        approval = propose_launch(campaign_a)
        approval_timers_sweep(now=approval.created_at + 4 * H)  # escalated first
        now = approval.created_at + 8 * H
        result = approval_timers_sweep(now=now)
        assert result.expired == [approval.pk] and not result.default_approved
        expired = fresh(approval)
        assert (expired.status, expired.decided_by, expired.decided_at) == ("expired", None, now)
        assert expired.executed_at is None
        assert expired.decision_note == "Expired as rejected after 8 h without an answer."
        assert phase_of(campaign_a) == "briefing"
        assert not audited("campaign.phase_changed").exists()
        event = audited("approval.expired").get()
        assert (event.data["rule"], event.data["safe_default"], event.data["escalated_to"]) == (
            "launch_campaign.timeout",
            "expire",
            Role.ADMIN.value,
        )
        assert approval_timers_sweep(now=now) == NOTHING  # idempotent
        with pytest.raises(AlreadyDecided, match="already expired by the system"):
            approval_decide(approval_id=approval.pk, user=manager, approve=True)
        assert phase_of(campaign_a) == "briefing"

    def test_past_the_deadline_the_default_applies_without_escalating_first(self, campaign_a):
        approval = propose_launch(campaign_a)
        result = approval_timers_sweep(now=approval.created_at + 30 * H)  # the sweep was down
        assert result.expired == [approval.pk] and not result.escalated
        assert not audited("approval.escalated").exists()

    def test_an_unanswered_pause_is_approved_by_default_exactly_once(self, campaign_a):
        approval = propose_pause(campaign_a)
        assert approval.queue_role == Role.MANAGER.value and phase_of(campaign_a) == "briefing"
        assert approval_timers_sweep(now=approval.created_at + 30 * MIN).escalated == [approval.pk]
        now = approval.created_at + H
        assert approval_timers_sweep(now=now).default_approved == [approval.pk]
        for later in (now, now + H):
            assert approval_timers_sweep(now=later) == NOTHING
        assert phase_of(campaign_a) == "paused"
        paused = audited("campaign.phase_changed").get()  # executed once
        assert paused.actor_label == "agent:performance"  # the agent acts, approved by default
        approved = fresh(approval)
        assert (approved.status, approved.decided_by, approved.decided_at) == (
            "approved",
            None,
            now,
        )
        assert approved.executed_at == now
        assert approved.decision_note == "Approved by default after 1 h without an answer."
        event = audited("approval.default_approved").get()
        assert (event.actor_label, event.data["rule"], event.data["safe_default"]) == (
            "system:approval-timers",
            "pause.timeout",
            "approve",
        )
        assert event.data["executed_content_hash"] == approved.content_hash

    def test_a_default_that_can_no_longer_be_carried_out_expires_instead(self, campaign_a, manager):
        approval = propose_pause(campaign_a)
        campaign_transition_phase(
            campaign_id=campaign_a.pk,
            to_phase="cancelled",
            actor=Actor.for_user(manager),
            reason="Brief withdrawn",
        )
        result = approval_timers_sweep(now=approval.created_at + H)
        assert result.expired == [approval.pk] and not result.default_approved
        expired = fresh(approval)
        assert expired.status == "expired" and expired.executed_at is None
        assert "approving it by default was refused" in expired.decision_note
        assert phase_of(campaign_a) == "cancelled"

    def test_a_default_never_approves_content_that_changed(self, campaign_a):
        approval = propose_pause(campaign_a)
        ApprovalRequest.objects.filter(pk=approval.pk).update(payload={"reason": "Other"})
        assert approval_timers_sweep(now=approval.created_at + H).expired == [approval.pk]
        assert "content no longer matches" in fresh(approval).decision_note
        assert phase_of(campaign_a) == "briefing"

    def test_requests_already_decided_are_never_touched(self, campaign_a, manager):
        rejected = propose_launch(campaign_a)
        approval_decide(approval_id=rejected.pk, user=manager, approve=False, note="Not yet")
        before = AuditEvent.objects.count()
        assert approval_timers_sweep(now=rejected.created_at + 30 * H) == NOTHING
        assert fresh(rejected).status == "rejected" and AuditEvent.objects.count() == before

    def test_the_admin_queue_has_nobody_to_escalate_to(self, campaign_a):
        admins_only = Rule(Mode.NEEDS_APPROVAL, Role.ADMIN)
        policy = with_rule(DEFAULT_POLICY, ActionType.LAUNCH_CAMPAIGN, admins_only, version=2)
        DelegationPolicy.objects.create(
            brand=campaign_a.brand, version=2, rules=policy_to_json(policy), status="active"
        )
        approval = propose_launch(campaign_a)
        assert approval.queue_role == Role.ADMIN.value
        assert approval_timers_sweep(now=approval.created_at + 5 * H) == NOTHING
        assert approval_timers_sweep(now=approval.created_at + 8 * H).expired == [approval.pk]

    def test_one_request_that_fails_undoes_nothing_else(self, campaign_a, campaign_b, monkeypatch):
        pause = propose_pause(campaign_a)
        launch = propose_launch(campaign_b)

        def broken(campaign, payload, actor):
            raise RuntimeError("connector exploded")

        monkeypatch.setitem(
            executors._executors,
            ActionType.PAUSE,
            Executor(validate=lambda p: None, run=broken),
        )
        result = approval_timers_sweep(now=launch.created_at + 9 * H)
        assert result.failed == [pause.pk] and result.expired == [launch.pk]
        assert fresh(pause).status == "pending" and phase_of(campaign_a) == "briefing"
        assert fresh(launch).status == "expired"
        monkeypatch.undo()  # fixed: the next sweep picks it up
        assert approval_timers_sweep(now=launch.created_at + 9 * H).default_approved == [pause.pk]


@pytest.mark.django_db(transaction=True)
def test_a_request_a_person_is_deciding_is_skipped_and_their_answer_wins(campaign_a, manager):
    approval = propose_launch(campaign_a)
    locked, release = threading.Event(), threading.Event()

    def person_deciding():
        try:
            with transaction.atomic():
                ApprovalRequest.objects.select_for_update().get(pk=approval.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    thread = threading.Thread(target=person_deciding)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        started = time.monotonic()
        result = approval_timers_sweep(now=approval.created_at + 30 * H)
        assert result.skipped == [approval.pk] and result.changed == 0
        assert time.monotonic() - started < 5  # skipped, not waited for
    finally:
        release.set()
        thread.join(timeout=10)
    approval_decide(approval_id=approval.pk, user=manager, approve=False, note="Not this week")
    assert approval_timers_sweep(now=approval.created_at + 30 * H) == NOTHING
    assert fresh(approval).status == "rejected"


# --- From Celery beat -----------------------------------------------------------------


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_the_timeout_default_fires_from_celery_beat(tmp_path, campaign_a):
    """A real beat process sends the sweep every second; a real worker runs it against
    the test database and expires a launch nobody answered."""
    from tests.stack import celery_beat, celery_worker

    approval = propose_launch(campaign_a)
    long_ago = approval.created_at - 30 * H
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        created_at=long_ago, due_at=long_ago + 4 * H
    )
    with (
        celery_worker(tmp_path / "worker.log"),
        celery_beat(tmp_path / "beat.log", schedule_seconds=1),
    ):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and fresh(approval).status == "pending":
            time.sleep(0.25)
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert fresh(approval).status == "expired", log[-3000:]
    event = audited("approval.expired").get()
    assert (event.actor_label, event.data["rule"]) == (
        "system:approval-timers",
        "launch_campaign.timeout",
    )
    assert "approvals.sweep_timers" in log
    assert phase_of(campaign_a) == "briefing"
