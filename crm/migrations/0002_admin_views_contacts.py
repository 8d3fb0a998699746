"""Let the Admin role open the read-only admin pages of contacts and their imports."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ("contact", "contactimport")


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="Admin")
    for model in MODELS:
        admin.permissions.add(
            Permission.objects.get(content_type__app_label="crm", codename=f"view_{model}")
        )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name="Admin"):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="crm", codename__in=[f"view_{m}" for m in MODELS]
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_contacts_and_imports"),
        ("approvals", "0002_roles_and_append_only_audit"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
