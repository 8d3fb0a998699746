"""campaign_transition_phase: the one way a phase changes — audited, guarded, all-or-nothing."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import F

from campaigns.domain.phases import Phase
from campaigns.models import Campaign, EscalationState
from campaigns.services import campaign_record_spend, campaign_transition_phase
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted, ReasonRequired, TransitionNotAllowed
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db


def snapshot(campaign):
    row = Campaign.objects.filter(pk=campaign.pk).values().get()
    return row, AuditEvent.objects.count()


def test_allowed_transition_changes_phase_and_writes_one_audit_event(campaign_a, manager):
    result = campaign_transition_phase(
        campaign_id=campaign_a.pk, to_phase="execution", actor=Actor.for_user(manager)
    )
    campaign_a.refresh_from_db()
    assert result.phase == campaign_a.phase == Phase.EXECUTION
    assert campaign_a.launched_at is not None
    event = AuditEvent.objects.get()
    assert event.action == "campaign.phase_changed"
    assert event.actor_user == manager and event.actor_label == "manager"
    assert event.campaign_id == campaign_a.pk and event.brand_id == campaign_a.brand_id
    assert event.data == {"from": "briefing", "to": "execution", "reason": ""}


def test_agent_transitions_are_attributed_to_the_agent(campaign_a):
    # Escalating never waits for anyone: it is how an agent stops and asks people.
    campaign_transition_phase(
        campaign_id=campaign_a.pk,
        to_phase="escalated",
        actor=Actor.for_agent("planner"),
        reason="CPA spike",
    )
    event = AuditEvent.objects.get(action="campaign.phase_changed")
    assert event.actor_agent == "planner" and event.actor_user is None
    assert event.actor_label == "agent:planner"
    # The move opens the escalation that tells people (monitoring.services.escalations).
    opened = AuditEvent.objects.get(action="escalation.opened")
    assert opened.actor_agent == "planner" and opened.data["summary"] == "CPA spike"


@pytest.mark.parametrize("to_phase", ["execution", "paused", "cancelled"])
def test_an_agent_cannot_launch_pause_or_cancel_on_its_own(campaign_a, to_phase):
    before = snapshot(campaign_a)
    with pytest.raises(NotPermitted, match="through the delegation-policy gate"):
        campaign_transition_phase(
            campaign_id=campaign_a.pk,
            to_phase=to_phase,
            actor=Actor.for_agent("planner"),
            reason="because",
        )
    assert snapshot(campaign_a) == before


def test_an_authorised_agent_move_records_what_authorised_it(campaign_a):
    campaign_transition_phase(
        campaign_id=campaign_a.pk,
        to_phase="execution",
        actor=Actor.for_agent("planner"),
        authorization="approval #7",
    )
    assert AuditEvent.objects.get().data["authorization"] == "approval #7"


@pytest.mark.parametrize(
    ("to_phase", "reason", "error", "message"),
    [
        ("completed", "", TransitionNotAllowed, "Cannot move from briefing to completed"),
        ("monitoring", "", TransitionNotAllowed, "Cannot move from briefing to monitoring"),
        ("paused", "", ReasonRequired, "a reason is required"),
        ("briefing", "", TransitionNotAllowed, "already briefing"),
        ("nonsense", "", TransitionNotAllowed, "“nonsense” is not a campaign phase"),
    ],
)
def test_refused_transition_writes_nothing(campaign_a, manager, to_phase, reason, error, message):
    before = snapshot(campaign_a)
    with pytest.raises(error, match=message):
        campaign_transition_phase(
            campaign_id=campaign_a.pk,
            to_phase=to_phase,
            actor=Actor.for_user(manager),
            reason=reason,
        )
    assert snapshot(campaign_a) == before


def test_legal_reviewer_cannot_change_a_phase_even_on_their_brand(campaign_a, legal_a):
    before = snapshot(campaign_a)
    with pytest.raises(NotPermitted):
        campaign_transition_phase(
            campaign_id=campaign_a.pk, to_phase="execution", actor=Actor.for_user(legal_a)
        )
    assert snapshot(campaign_a) == before


def test_escalation_opens_and_resuming_resolves_it(campaign_a, manager):
    actor = Actor.for_user(manager)
    campaign_transition_phase(campaign_id=campaign_a.pk, to_phase="execution", actor=actor)
    c = campaign_transition_phase(
        campaign_id=campaign_a.pk, to_phase="escalated", actor=actor, reason="CPA spike"
    )
    assert (c.phase, c.resume_phase, c.escalation_state) == ("escalated", "execution", "open")
    c = campaign_transition_phase(
        campaign_id=campaign_a.pk, to_phase="paused", actor=actor, reason="Wait for legal"
    )
    assert (c.phase, c.resume_phase, c.escalation_state) == ("paused", "execution", "open")
    with pytest.raises(TransitionNotAllowed, match="only resume execution"):
        campaign_transition_phase(
            campaign_id=campaign_a.pk, to_phase="monitoring", actor=actor, reason="skip ahead"
        )
    c = campaign_transition_phase(
        campaign_id=campaign_a.pk, to_phase="execution", actor=actor, reason="Fixed"
    )
    assert (c.phase, c.resume_phase) == ("execution", "")
    escalated = campaign_transition_phase(
        campaign_id=campaign_a.pk, to_phase="escalated", actor=actor, reason="again"
    )
    assert escalated.escalation_state == EscalationState.OPEN
    resumed = campaign_transition_phase(
        campaign_id=campaign_a.pk, to_phase="execution", actor=actor, reason="resolved"
    )
    assert resumed.escalation_state == EscalationState.RESOLVED


def test_transition_rolled_back_with_its_transaction_leaves_no_trace(campaign_a, manager):
    before = snapshot(campaign_a)
    with pytest.raises(RuntimeError), transaction.atomic():
        campaign_transition_phase(
            campaign_id=campaign_a.pk, to_phase="execution", actor=Actor.for_user(manager)
        )
        raise RuntimeError("the surrounding work failed")
    assert snapshot(campaign_a) == before


def test_spend_can_never_cross_the_budget(campaign_a):
    actor = Actor.for_agent("distribution")
    campaign_record_spend(campaign_id=campaign_a.pk, amount=Decimal("9999.99"), actor=actor)
    before = snapshot(campaign_a)
    with pytest.raises(DomainError, match=r"would exceed the budget of 10000\.00"):
        campaign_record_spend(campaign_id=campaign_a.pk, amount=Decimal("0.02"), actor=actor)
    assert snapshot(campaign_a) == before
    campaign_record_spend(campaign_id=campaign_a.pk, amount=Decimal("0.01"), actor=actor)
    campaign_a.refresh_from_db()
    assert campaign_a.budget_consumed == campaign_a.budget_total


def test_an_import_can_backdate_a_change_but_never_into_the_future(campaign_a):
    from datetime import timedelta

    from django.utils import timezone

    launched = timezone.now() - timedelta(days=3)
    campaign = campaign_transition_phase(
        campaign_id=campaign_a.pk,
        to_phase="execution",
        actor=Actor.system("import"),
        effective_at=launched,
    )
    assert campaign.launched_at == launched == campaign.phase_changed_at
    event = AuditEvent.objects.get()
    assert event.data["effective_at"] == launched.isoformat()
    assert event.occurred_at > launched  # the audit row keeps the real time

    before = snapshot(campaign_a)
    with pytest.raises(DomainError, match="cannot take effect in the future"):
        campaign_transition_phase(
            campaign_id=campaign_a.pk,
            to_phase="monitoring",
            actor=Actor.system("import"),
            effective_at=timezone.now() + timedelta(minutes=5),
        )
    assert snapshot(campaign_a) == before


@pytest.mark.django_db(transaction=True)
def test_the_budget_cap_holds_under_concurrent_spend(campaign_a):
    """Four workers each try to spend 40 % of the budget at the same moment on their own
    connections: exactly two succeed, and consumed never passes the total."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(4)
    results: list[str] = []

    def spend():
        try:
            barrier.wait(timeout=10)
            campaign_record_spend(
                campaign_id=campaign_a.pk, amount=Decimal("4000"), actor=Actor.for_agent("dist")
            )
            results.append("spent")
        except DomainError as refused:
            results.append(str(refused))
        finally:
            connection.close()

    threads = [threading.Thread(target=spend) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results.count("spent") == 2
    assert all("would exceed the budget" in r for r in results if r != "spent")
    campaign_a.refresh_from_db()
    assert campaign_a.budget_consumed == Decimal("8000") <= campaign_a.budget_total
    assert AuditEvent.objects.filter(action="campaign.spend_recorded").count() == 2


def test_the_daily_cap_holds_for_everyone_and_resets_the_next_day(campaign_a):
    from datetime import timedelta

    from campaigns.models import DailySpend

    Campaign.objects.filter(pk=campaign_a.pk).update(daily_cap=Decimal("500"))
    actor = Actor.for_agent("distribution")
    campaign_record_spend(campaign_id=campaign_a.pk, amount=Decimal("400"), actor=actor)
    before = snapshot(campaign_a)
    with pytest.raises(DomainError, match=r"would exceed today's cap of 500\.00"):
        campaign_record_spend(campaign_id=campaign_a.pk, amount=Decimal("101"), actor=actor)
    assert snapshot(campaign_a) == before
    # Yesterday's tally does not count against today.
    DailySpend.objects.filter(campaign=campaign_a).update(day=F("day") - timedelta(days=1))
    campaign_record_spend(campaign_id=campaign_a.pk, amount=Decimal("450"), actor=actor)
    assert Campaign.objects.get(pk=campaign_a.pk).budget_consumed == Decimal("850")


@pytest.mark.django_db(transaction=True)
def test_the_daily_cap_holds_under_concurrent_spend(campaign_a):
    import threading

    from django.db import connection

    Campaign.objects.filter(pk=campaign_a.pk).update(daily_cap=Decimal("1000"))
    barrier = threading.Barrier(4)
    results: list[str] = []

    def spend():
        try:
            barrier.wait(timeout=10)
            campaign_record_spend(
                campaign_id=campaign_a.pk, amount=Decimal("300"), actor=Actor.for_agent("dist")
            )
            results.append("spent")
        except DomainError as refused:
            results.append(str(refused))
        finally:
            connection.close()

    threads = [threading.Thread(target=spend) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results.count("spent") == 3  # 900 fits under 1,000; the fourth would not
    assert Campaign.objects.get(pk=campaign_a.pk).budget_consumed == Decimal("900")


def test_the_gate_refuses_an_agent_spend_over_the_daily_cap(campaign_a):
    from approvals.domain.policy import DEFAULT_POLICY, ProposedAction, evaluate

    Campaign.objects.filter(pk=campaign_a.pk).update(daily_cap=Decimal("500"))
    campaign_record_spend(
        campaign_id=campaign_a.pk, amount=Decimal("450"), actor=Actor.for_agent("d")
    )
    from campaigns.services import spent_today

    campaign_a.refresh_from_db()
    decision = evaluate(
        DEFAULT_POLICY,
        ProposedAction(
            action="pause",
            by_agent=True,
            spend=Decimal("100"),
            daily_cap=campaign_a.daily_cap,
            spent_today=spent_today(campaign_a),
        ),
    )
    assert decision.rule == "hard_cap.daily_spend"
