"""A beat tick is never lost to a deadlock (issue 13: one ``evaluate_slas`` run lost):
a transient database error is retried with backoff, since every tick is safe to run
twice (the services work from what the database says is due)."""

import pytest
from django.conf import settings
from django.db import OperationalError

from controltower.celery import app

pytestmark = pytest.mark.django_db

#: Beat's ticks whose tasks live in monitoring/ and agents/.
TICKS = sorted(
    entry["task"]
    for entry in settings.CELERY_BEAT_SCHEDULE.values()
    if entry["task"].split(".")[0] in ("monitoring", "agents")
)


@pytest.mark.parametrize("name", TICKS)
def test_each_tick_retries_a_transient_database_error(name):
    app.loader.import_default_modules()  # the apps' tasks modules, as a worker loads them
    task = app.tasks[name]
    assert OperationalError in task.autoretry_for
    assert task.max_retries and task.retry_backoff


def test_an_sla_sweep_that_meets_a_deadlock_is_run_again(monkeypatch):
    from monitoring.services import slas
    from monitoring.tasks import evaluate_slas

    calls = []

    def deadlocked_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("deadlock detected")
        return 0

    monkeypatch.setattr(slas, "slas_evaluate", deadlocked_once)
    result = evaluate_slas.apply()
    assert result.successful() and len(calls) == 2
