"""SLA timers on approval requests: when the answer is due, and the escalation record.

Requests raised before timers existed get the clock their rule gives them from when they
were raised, so one that is already past its hard deadline gets its safe default on the
first sweep, as if the timers had always run.
"""

from datetime import timedelta

import django.utils.timezone
from django.db import migrations, models


def backfill_due_at(apps, schema_editor):
    # The pure rules are imported, not frozen here: they are plain data, and a request
    # needs the response time its kind has today.
    from approvals.domain.timers import timer_rule

    ApprovalRequest = apps.get_model("approvals", "ApprovalRequest")
    for row in ApprovalRequest.objects.filter(due_at__isnull=True).iterator():
        sla: timedelta = timer_rule(
            row.action_type, row.queue_role, is_recommendation=row.is_recommendation
        ).sla
        ApprovalRequest.objects.filter(pk=row.pk).update(due_at=row.created_at + sla)


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0006_delegation_policy_and_gate"),
    ]

    operations = [
        migrations.AlterField(
            model_name="approvalrequest",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AddField(
            model_name="approvalrequest",
            name="due_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(backfill_due_at, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="approvalrequest",
            name="due_at",
            field=models.DateTimeField(),
        ),
        migrations.AddField(
            model_name="approvalrequest",
            name="escalated_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="approvalrequest",
            name="escalated_to",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddIndex(
            model_name="approvalrequest",
            index=models.Index(fields=["status", "due_at"], name="approval_status_due"),
        ),
        migrations.AddConstraint(
            model_name="approvalrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(("escalated_at__isnull", True), ("escalated_to", ""))
                | models.Q(
                    ("escalated_at__isnull", False), models.Q(("escalated_to", ""), _negated=True)
                ),
                name="approval_escalated_when_and_to_whom",
            ),
        ),
    ]
