"""An audit trail that cannot be emptied or shortened unnoticed. An outside probe found
`TRUNCATE approvals_auditevent` succeeded and `audit_verify` then said "verified: 0
events, intact"; deleting the last events and rewinding the head verified clean too."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from governance.domain.audit import Actor
from governance.models import AuditChainHead, AuditEvent
from governance.services import audit_checkpoint_write, audit_record

pytestmark = pytest.mark.django_db


def some_events(campaign, n=5):
    for i in range(n):
        audit_record(
            actor=Actor.system("test"),
            action="test.happened",
            target=campaign,
            brand_id=campaign.brand_id,
            campaign_id=campaign.pk,
            data={"i": i},
        )


def as_an_intruder(sql: str) -> None:
    """Raw SQL from someone who can switch triggers off (a superuser)."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def test_truncating_the_trail_or_its_head_is_refused(campaign_a):
    some_events(campaign_a)
    for table in ("approvals_auditevent", "approvals_auditchainhead"):
        with (
            pytest.raises(DatabaseError, match="cannot be truncated"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            # (The test's own transaction holds deferred FK checks TRUNCATE would refuse.)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL controltower.audit_maintenance = 'off'")
            cursor.execute(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.count() == 5


def test_the_chain_head_only_moves_forward(campaign_a):
    some_events(campaign_a)
    with pytest.raises(DatabaseError, match="only moves forward"), transaction.atomic():
        AuditChainHead.objects.filter(id=1).update(seq=2)
    with (
        pytest.raises(DatabaseError, match="cannot be deleted"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM approvals_auditchainhead")
    assert AuditChainHead.objects.get(id=1).seq == 5


def test_an_emptied_trail_does_not_verify(campaign_a):
    some_events(campaign_a)
    call_command("audit_verify")
    as_an_intruder("DELETE FROM approvals_auditevent")
    with pytest.raises(CommandError, match="emptied: the chain head records #5"):
        call_command("audit_verify")


def test_a_checkpoint_exposes_a_shortened_trail_with_its_head_rewound(
    campaign_a, settings, tmp_path, capsys
):
    settings.CONTROLTOWER_AUDIT_CHECKPOINT_DIR = str(tmp_path)
    some_events(campaign_a)
    checkpoint = audit_checkpoint_write()
    assert checkpoint["seq"] == 5 and len(checkpoint["signature"]) == 64
    call_command("audit_verify", checkpoint=[str(tmp_path)])
    assert "1 checkpoint(s) match" in capsys.readouterr().out

    # Remove the last two events and rewind the head to match: the chain alone is clean…
    last3 = AuditEvent.objects.get(seq=3)
    as_an_intruder("DELETE FROM approvals_auditevent WHERE seq > 3")
    as_an_intruder(
        f"UPDATE approvals_auditchainhead SET seq = 3, hash = '{last3.hash}' WHERE id = 1"
    )
    call_command("audit_verify")
    # …but not against what was kept outside the database.
    with pytest.raises(CommandError, match=r"records #3, but on .* it had reached #5"):
        call_command("audit_verify", checkpoint=[str(tmp_path)])


def test_an_edited_checkpoint_is_refused(campaign_a, settings, tmp_path):
    settings.CONTROLTOWER_AUDIT_CHECKPOINT_DIR = str(tmp_path)
    some_events(campaign_a)
    audit_checkpoint_write()
    (path,) = tmp_path.glob("audit-checkpoint-*.json")
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "seq": 2}))
    with pytest.raises(CommandError, match="signature does not match"):
        call_command("audit_verify", checkpoint=[str(path)])
