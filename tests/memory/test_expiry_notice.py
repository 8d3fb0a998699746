"""Legal owners are told once, ahead of time, that an approved claim expires."""

from datetime import timedelta

import pytest
from django.core import mail

from controltower.celery import app
from governance.models import AuditEvent
from memory.models import Claim
from memory.services import claim_expiry_notices_send, claim_retire
from memory.tasks import send_claim_expiry_notices

from .builders import TODAY, approved, propose

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_sent_in_process(settings):
    # The notice's email is a task queued on commit; here it runs in the test's process.
    settings.CONTROLTOWER_CLAIM_EXPIRY_NOTICE_DAYS = 14
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


def sweep(django_capture_on_commit_callbacks, today):
    with django_capture_on_commit_callbacks(execute=True):
        return claim_expiry_notices_send(today=today)


def test_the_owner_is_emailed_once_from_n_days_before_expiry(
    brand_a, manager, legal_a, django_capture_on_commit_callbacks
):
    claim = approved(brand_a, manager, legal_a, days=20)
    window_opens = claim.expires_on - timedelta(days=14)

    assert sweep(django_capture_on_commit_callbacks, window_opens - timedelta(days=1)) == []
    assert mail.outbox == []

    assert sweep(django_capture_on_commit_callbacks, window_opens) == [claim.pk]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [legal_a.email]
    assert message.subject == (
        f"Claim {claim.ref} for Brand A expires on {claim.expires_on.isoformat()}"
    )
    assert "“Roasted to order”" in message.body and "counts as unapproved" in message.body

    for later in (window_opens, window_opens + timedelta(days=3)):
        assert sweep(django_capture_on_commit_callbacks, later) == []
    assert len(mail.outbox) == 1

    event = AuditEvent.objects.get(action="claim.expiry_notice_sent")
    assert event.actor_label == "system:claim-expiry" and event.brand_id == brand_a.pk
    assert event.data == {
        "ref": claim.ref,
        "expires_on": claim.expires_on.isoformat(),
        "to": "legal-a",
        "days_left": 14,
    }
    assert Claim.objects.get().expiry_notice_sent_at is not None


def test_a_missed_day_catches_up_but_expired_pending_and_retired_claims_are_skipped(
    brand_a, manager, legal_a, django_capture_on_commit_callbacks
):
    late = approved(brand_a, manager, legal_a, "Roasted to order", days=5)
    approved(brand_a, manager, legal_a, "Small batch", days=1)  # expires before the sweep
    propose(brand_a, manager, legal_a, "Pending claim", days=5)
    withdrawn = approved(brand_a, manager, legal_a, "Withdrawn claim", days=5)
    claim_retire(claim_id=withdrawn.pk, user=legal_a, note="Study withdrawn")

    assert sweep(django_capture_on_commit_callbacks, TODAY + timedelta(days=1)) == [late.pk]
    assert [m.subject.split()[1] for m in mail.outbox] == [late.ref]


def test_nothing_is_recorded_without_a_commit(brand_a, manager, legal_a):
    """The email goes only once the notice is committed (here: never)."""
    approved(brand_a, manager, legal_a, days=10)
    assert len(claim_expiry_notices_send(today=TODAY)) == 1
    assert mail.outbox == []


def test_the_daily_task_runs_the_sweep(brand_a, manager, legal_a, monkeypatch):
    seen = []
    monkeypatch.setattr(
        "memory.tasks.claim_expiry_notices_send", lambda: seen.append("swept") or []
    )
    send_claim_expiry_notices.delay()
    assert seen == ["swept"]
