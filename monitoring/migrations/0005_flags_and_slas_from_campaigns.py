"""Anomaly flags and SLA evaluations move to monitoring from campaigns.

Only Django's picture of the models moves: the tables keep their names
(``campaigns_anomalyflag``, ``campaigns_slaevaluation``) with their indexes and
constraint, and the content types are relabelled so permissions granted on them hold
(the Admin role's ``view_anomalyflag`` / ``view_slaevaluation``, granted by
approvals' 0005 under the campaigns label — so that one runs first)."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ["anomalyflag", "slaevaluation"]


def _relabel(apps, old, new):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def relabel(apps, schema_editor):
    _relabel(apps, "campaigns", "monitoring")


def unrelabel(apps, schema_editor):
    _relabel(apps, "monitoring", "campaigns")


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0004_delivery_start_and_warm_up"),
        ("campaigns", "0010_flag_bad_since"),
        # It grants the Admin role view permissions by the campaigns label: it runs first.
        ("approvals", "0005_admin_views_read_models"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AnomalyFlag",
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
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("cpm_spike", "CPM spike"),
                                    ("cpc_spike", "CPC spike"),
                                    ("cpa_above_limit", "CPA above control limit"),
                                    ("conversion_drop", "Conversion drop"),
                                    ("broken_link", "Broken link"),
                                    ("pacing_drift", "Pacing drift (overspend)"),
                                    ("audience_fatigue", "Audience fatigue"),
                                ],
                                max_length=24,
                            ),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("firing", "Firing"),
                                    ("resolved", "Resolved"),
                                ],
                                default="firing",
                                max_length=12,
                            ),
                        ),
                        (
                            "response",
                            models.CharField(
                                choices=[
                                    ("continue", "Continue"),
                                    ("optimize", "Optimize"),
                                    ("pause", "Pause"),
                                    ("escalate", "Escalate"),
                                ],
                                default="continue",
                                max_length=12,
                            ),
                        ),
                        ("explanation", models.CharField(max_length=300)),
                        ("channel", models.CharField(blank=True, max_length=32)),
                        ("variant", models.CharField(blank=True, max_length=64)),
                        (
                            "observed",
                            models.DecimalField(
                                blank=True, decimal_places=4, max_digits=14, null=True
                            ),
                        ),
                        (
                            "limit",
                            models.DecimalField(
                                blank=True, decimal_places=4, max_digits=14, null=True
                            ),
                        ),
                        (
                            "expected_low",
                            models.DecimalField(
                                blank=True, decimal_places=4, max_digits=14, null=True
                            ),
                        ),
                        (
                            "expected_high",
                            models.DecimalField(
                                blank=True, decimal_places=4, max_digits=14, null=True
                            ),
                        ),
                        ("bad_since", models.DateTimeField(blank=True, null=True)),
                        ("opened_at", models.DateTimeField()),
                        ("firing_at", models.DateTimeField(blank=True, null=True)),
                        ("resolved_at", models.DateTimeField(blank=True, null=True)),
                        ("silenced", models.BooleanField(default=False)),
                        ("silence_note", models.CharField(blank=True, max_length=300)),
                        ("response_taken", models.CharField(blank=True, max_length=300)),
                        (
                            "campaign",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="anomaly_flags",
                                to="campaigns.campaign",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "campaigns_anomalyflag",
                        "ordering": ["-opened_at"],
                        "indexes": [
                            models.Index(
                                fields=["campaign", "state"],
                                name="campaigns_a_campaig_d00f5e_idx",
                            )
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("state", "resolved"), _negated=True),
                                fields=("campaign", "kind", "channel", "variant"),
                                name="one_open_flag_per_kind_and_surface",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="SlaEvaluation",
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
                        (
                            "sla",
                            models.CharField(
                                choices=[
                                    ("draft_time", "Draft within target time"),
                                    ("qa_pass_rate", "QA pass rate"),
                                    ("policy_escalation", "Policy issue escalated in time"),
                                    ("budget_pacing", "Budget pacing within range"),
                                    ("response_time", "Response time"),
                                    ("exception_rate", "Exception rate"),
                                    ("completion_rate", "Completion rate"),
                                    (
                                        "notify_time",
                                        "CPA above the control limit: people told at once",
                                    ),
                                    ("delivery_start", "Delivery starts after launch"),
                                ],
                                max_length=24,
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("on_track", "On track"),
                                    ("at_risk", "At risk"),
                                    ("breached", "Breached"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("measured", models.CharField(max_length=64)),
                        ("target", models.CharField(max_length=64)),
                        ("detail", models.CharField(blank=True, max_length=300)),
                        ("error_budget", models.CharField(blank=True, max_length=120)),
                        ("evaluated_at", models.DateTimeField()),
                        (
                            "campaign",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="sla_evaluations",
                                to="campaigns.campaign",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "campaigns_slaevaluation",
                        "ordering": ["-evaluated_at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["campaign", "sla", "-evaluated_at"],
                                name="campaigns_s_campaig_2a7767_idx",
                            )
                        ],
                    },
                ),
                migrations.AlterField(
                    model_name="circuitbreaker",
                    name="flag",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="monitoring.anomalyflag",
                    ),
                ),
                migrations.AlterField(
                    model_name="escalation",
                    name="flag",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="monitoring.anomalyflag",
                    ),
                ),
                migrations.AlterField(
                    model_name="notification",
                    name="flag",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="monitoring.anomalyflag",
                    ),
                ),
            ],
        ),
        migrations.RunPython(relabel, unrelabel),
    ]
