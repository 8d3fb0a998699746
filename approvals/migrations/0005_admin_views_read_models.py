"""Let the Admin role open the read-only admin pages of the tower's read models."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ_MODELS = [
    ("campaigns", "anomalyflag"),
    ("campaigns", "slaevaluation"),
    ("campaigns", "performancesample"),
    ("approvals", "approvalrequest"),
]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="Admin")
    for app_label, model in READ_MODELS:
        admin.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=f"view_{model}")
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Admin"):
        for app_label, model in READ_MODELS:
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename=f"view_{model}"
                )
            )


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0004_approval_brand_status_index"),
        ("campaigns", "0003_tower_indexes"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
