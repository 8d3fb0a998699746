"""Create the three roles as groups, the audit chain head, and (on PostgreSQL) a trigger
that refuses UPDATE and DELETE on audit events, so not even raw SQL can rewrite history."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MANAGER, LEGAL, ADMIN = "Marketing Manager", "Legal Reviewer", "Admin"

# Model permissions for Django's admin site. Which *brands* a person works on is an
# object permission (campaigns.view_brand per brand), granted per person or group.
ADMIN_PERMISSIONS = [
    ("campaigns", "add_brand"),
    ("campaigns", "change_brand"),
    ("campaigns", "view_brand"),
    ("campaigns", "view_brief"),
    ("campaigns", "view_campaign"),
    ("approvals", "view_auditevent"),
    ("auth", "add_user"),
    ("auth", "change_user"),
    ("auth", "view_user"),
    ("auth", "view_group"),
    ("auth", "change_group"),
]


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrations; make them now so they can be granted.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name in (MANAGER, LEGAL, ADMIN):
        Group.objects.get_or_create(name=name)
    admin = Group.objects.get(name=ADMIN)
    for app_label, codename in ADMIN_PERMISSIONS:
        admin.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )

    apps.get_model("approvals", "AuditChainHead").objects.get_or_create(id=1)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[MANAGER, LEGAL, ADMIN]).delete()


APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION approvals_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER approvals_auditevent_append_only
    BEFORE UPDATE OR DELETE ON approvals_auditevent
    FOR EACH ROW EXECUTE FUNCTION approvals_auditevent_append_only();
"""
DROP_APPEND_ONLY_SQL = """
DROP TRIGGER IF EXISTS approvals_auditevent_append_only ON approvals_auditevent;
DROP FUNCTION IF EXISTS approvals_auditevent_append_only();
"""


def append_only_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL, params=None)


def drop_append_only_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0001_initial"),
        ("campaigns", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_roles, remove_roles),
        migrations.RunPython(append_only_trigger, drop_append_only_trigger),
    ]
