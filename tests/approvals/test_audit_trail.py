"""The audit trail: append-only, hash-chained, verifiable."""

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from campaigns.services import campaign_transition_phase
from governance.domain.audit import GENESIS_HASH, Actor, event_hash, verify_chain
from governance.models import AppendOnlyError, AuditEvent
from governance.selectors import audit_chain_links


def test_verify_chain_detects_alteration_removal_and_reordering():
    contents = [{"seq": n, "action": f"a{n}"} for n in (1, 2, 3)]
    links, prev = [], GENESIS_HASH
    for n, content in enumerate(contents, start=1):
        digest = event_hash(prev, content)
        links.append((n, prev, digest, content))
        prev = digest
    assert verify_chain(links) is None

    altered = [*links[:1], (2, links[1][1], links[1][2], {"seq": 2, "action": "forged"}), links[2]]
    assert verify_chain(altered).seq == 2
    assert "altered" in verify_chain(altered).problem
    assert verify_chain([links[0], links[2]]).problem.endswith("events are missing")
    assert verify_chain([links[1], links[0], links[2]]).seq == 2


def test_actor_is_exactly_one_of_user_or_agent():
    with pytest.raises(ValueError):
        Actor(label="x")
    with pytest.raises(ValueError):
        Actor(label="x", user_id=1, agent="planner")


@pytest.mark.django_db
def test_events_chain_and_the_command_verifies_them(campaign_a, manager, capsys):
    actor = Actor.for_user(manager)
    campaign_transition_phase(campaign_id=campaign_a.pk, to_phase="execution", actor=actor)
    campaign_transition_phase(campaign_id=campaign_a.pk, to_phase="monitoring", actor=actor)
    first, second = AuditEvent.objects.order_by("seq")
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert verify_chain(audit_chain_links()) is None
    call_command("audit_verify")
    assert "Audit chain verified: 2 events, intact." in capsys.readouterr().out


@pytest.mark.django_db
def test_events_cannot_be_changed_or_deleted_through_the_orm(campaign_a, manager):
    campaign_transition_phase(
        campaign_id=campaign_a.pk, to_phase="execution", actor=Actor.for_user(manager)
    )
    event = AuditEvent.objects.get()
    event.action = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db
def test_postgresql_refuses_raw_sql_rewrites(campaign_a, manager):
    campaign_transition_phase(
        campaign_id=campaign_a.pk, to_phase="execution", actor=Actor.for_user(manager)
    )
    for sql in (
        "UPDATE approvals_auditevent SET action = 'forged'",
        "DELETE FROM approvals_auditevent",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AuditEvent.objects.get().action == "campaign.phase_changed"


@pytest.mark.django_db(transaction=True)
def test_audit_verify_reports_a_tampered_event(campaign_a, manager):
    actor = Actor.for_user(manager)
    campaign_transition_phase(campaign_id=campaign_a.pk, to_phase="execution", actor=actor)
    campaign_transition_phase(campaign_id=campaign_a.pk, to_phase="monitoring", actor=actor)
    # Simulate someone with database superpowers: disable the trigger, forge, re-enable.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE approvals_auditevent DISABLE TRIGGER USER")
        cursor.execute(
            'UPDATE approvals_auditevent SET data = \'{"from": "briefing", "to": "completed"}\''
            " WHERE seq = 1"
        )
        cursor.execute("ALTER TABLE approvals_auditevent ENABLE TRIGGER USER")
    with pytest.raises(CommandError, match="broken at event #1: its content does not match"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_a_person_who_has_acted_cannot_be_deleted_only_deactivated(brand_a, legal_a):
    from django.db.models import ProtectedError

    from governance.domain.roles import Role
    from governance.services import brand_assign
    from tests.factories import UserFactory

    admin = UserFactory(role=Role.ADMIN)  # appears nowhere but as the audit's actor
    brand_assign(brand=brand_a, assignee=legal_a, actor=Actor.for_user(admin))
    with pytest.raises(ProtectedError), transaction.atomic():
        admin.delete()
    admin.is_active = False
    admin.save()
    call_command("audit_verify")
