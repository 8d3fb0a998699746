"""The audit trail and review delegations now belong to governance (its 0001): the
tables stay, only Django's picture of them moves."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0014_audit_truncate_and_head_guards"),
        ("governance", "0001_initial"),
        # It reads the audit trail as approvals' model: it runs first.
        ("memory", "0002_voice_rules_into_memory"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name="AuditChainHead",
                ),
                migrations.RemoveField(
                    model_name="reviewdelegation",
                    name="delegate",
                ),
                migrations.RemoveField(
                    model_name="reviewdelegation",
                    name="reviewer",
                ),
                migrations.DeleteModel(
                    name="AuditEvent",
                ),
                migrations.DeleteModel(
                    name="ReviewDelegation",
                ),
            ],
        ),
    ]
