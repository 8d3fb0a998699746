"""The audit trail and review delegations move to the ground floor from approvals.

Only Django's picture of the models moves: the tables keep their names (and their
triggers), and the content types are relabelled so permissions granted on them hold."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ["auditevent", "auditchainhead", "reviewdelegation"]


def _relabel(apps, old, new):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def relabel(apps, schema_editor):
    _relabel(apps, "approvals", "governance")


def unrelabel(apps, schema_editor):
    _relabel(apps, "governance", "approvals")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("approvals", "0014_audit_truncate_and_head_guards"),
        ("campaigns", "0010_flag_bad_since"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditChainHead",
                    fields=[
                        (
                            "id",
                            models.PositiveSmallIntegerField(
                                default=1, editable=False, primary_key=True, serialize=False
                            ),
                        ),
                        ("seq", models.PositiveBigIntegerField(default=0)),
                        (
                            "hash",
                            models.CharField(
                                default="0000000000000000000000000000000000000000000000000000000000000000",
                                max_length=64,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "approvals_auditchainhead",
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("id", 1)), name="audit_head_singleton"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("seq", models.PositiveBigIntegerField(editable=False, unique=True)),
                        ("occurred_at", models.DateTimeField(db_index=True)),
                        ("actor_label", models.CharField(max_length=160)),
                        ("actor_agent", models.CharField(blank=True, max_length=80)),
                        ("action", models.CharField(db_index=True, max_length=80)),
                        ("object_type", models.CharField(max_length=80)),
                        ("object_id", models.CharField(max_length=64)),
                        ("data", models.JSONField(blank=True, default=dict)),
                        ("prev_hash", models.CharField(editable=False, max_length=64)),
                        ("hash", models.CharField(editable=False, max_length=64, unique=True)),
                        (
                            "actor_user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "brand",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="campaigns.brand",
                            ),
                        ),
                        (
                            "campaign",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="audit_events",
                                to="campaigns.campaign",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "approvals_auditevent",
                        "ordering": ["seq"],
                        "indexes": [
                            models.Index(
                                fields=["campaign", "seq"], name="approvals_a_campaig_76d178_idx"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ReviewDelegation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("starts_at", models.DateTimeField()),
                        ("ends_at", models.DateTimeField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "delegate",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="delegations_received",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "reviewer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="delegations_given",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "approvals_reviewdelegation",
                        "ordering": ["-starts_at"],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("ends_at__gt", models.F("starts_at"))),
                                name="delegation_ends_after_it_starts",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("reviewer", models.F("delegate")), _negated=True
                                ),
                                name="delegation_to_someone_else",
                            ),
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(relabel, unrelabel),
    ]
