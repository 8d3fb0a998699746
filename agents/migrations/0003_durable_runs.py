from django.db import migrations, models


def started_when_queued(apps, schema_editor):
    AgentRun = apps.get_model("agents", "AgentRun")
    AgentRun.objects.update(started_at=models.F("queued_at"))


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_admin_views_agent_work")]

    operations = [
        migrations.RemoveIndex(model_name="agentrun", name="agents_agen_campaig_b59d6f_idx"),
        # Runs so far started when they were created: that time becomes "queued".
        migrations.RenameField(model_name="agentrun", old_name="started_at", new_name="queued_at"),
        migrations.AddField(
            model_name="agentrun",
            name="started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(started_when_queued, migrations.RunPython.noop),
    ]
