"""Let the Admin role open the read-only admin pages of agent runs and handoffs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="Admin")
    for model in ("agentrun", "handoff"):
        admin.permissions.add(
            Permission.objects.get(content_type__app_label="agents", codename=f"view_{model}")
        )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name="Admin"):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="agents", codename__in=["view_agentrun", "view_handoff"]
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_runs_and_handoffs"),
        ("approvals", "0002_roles_and_append_only_audit"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
