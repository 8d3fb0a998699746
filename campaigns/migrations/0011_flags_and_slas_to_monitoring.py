"""Anomaly flags and SLA evaluations now belong to monitoring (its 0005): the tables
stay, only Django's picture of them moves."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0010_flag_bad_since"),
        ("monitoring", "0005_flags_and_slas_from_campaigns"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name="AnomalyFlag",
                ),
                migrations.DeleteModel(
                    name="SlaEvaluation",
                ),
            ],
        ),
    ]
