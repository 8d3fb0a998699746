"""Legal clears a claim once, in the registry: the drafts that waited for legal only
because of it move to the marketing manager's queue, with the new decision recorded."""

import pytest
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.services import action_propose
from governance.domain.audit import Actor
from governance.models import AuditEvent
from memory.services import claim_review

from .builders import propose

pytestmark = pytest.mark.django_db
CONTENT = Actor.for_agent("content")


def draft(campaign, *claims):
    return action_propose(
        campaign_id=campaign.pk,
        action="publish_content",
        payload={
            "channel": "email",
            "headline": "Ride to work, arrive fresh",
            "body": " ".join(claims) or "A bike for the commute.",
            "claims": list(claims),
        },
        actor=CONTENT,
        summary="email: Ride to work, arrive fresh",
        claims=claims,
    ).approval


def test_approving_a_claim_moves_the_drafts_that_waited_only_for_it(campaign_a, manager, legal_a):
    today = timezone.localdate()
    claim = propose(campaign_a.brand, manager, legal_a, "Assembled in Portland", today=today)
    only_it = draft(campaign_a, "Assembled in Portland")
    with_another = draft(campaign_a, "Assembled in Portland", "Lightest in its class")
    assert {only_it.queue_role, with_another.queue_role} == {"Legal Reviewer"}

    claim_review(claim_id=claim.pk, reviewer=legal_a, approve=True, today=today)

    only_it.refresh_from_db()
    with_another.refresh_from_db()
    assert only_it.queue_role == "Marketing Manager" and only_it.status == "pending"
    assert only_it.decision.rule == "publish_content.needs_approval"
    assert only_it.decision.reason.startswith("Its claims are now approved in the registry.")
    assert only_it.due_at > timezone.now()
    # A draft with a claim legal has not cleared stays with legal.
    assert with_another.queue_role == "Legal Reviewer"
    moved = AuditEvent.objects.get(action="approval.rerouted")
    assert moved.data == {
        "from": "Legal Reviewer",
        "to": "Marketing Manager",
        "rule": "publish_content.needs_approval",
    }
    assert moved.actor_user == legal_a
    # Legal's "waiting for you" notice about it is read; the manager has a new one.
    from monitoring.models import Notification

    notices = Notification.objects.filter(approval_id=only_it.pk)
    assert notices.get(recipient=legal_a).read_at is not None
    assert notices.get(recipient=manager).read_at is None


def test_a_rejected_claim_moves_nothing(campaign_a, manager, legal_a):
    today = timezone.localdate()
    claim = propose(campaign_a.brand, manager, legal_a, "Assembled in Portland", today=today)
    waiting = draft(campaign_a, "Assembled in Portland")
    claim_review(
        claim_id=claim.pk, reviewer=legal_a, approve=False, note="No evidence yet", today=today
    )
    waiting.refresh_from_db()
    assert waiting.queue_role == "Legal Reviewer"
    assert not ApprovalRequest.objects.filter(queue_role="Marketing Manager").exists()
