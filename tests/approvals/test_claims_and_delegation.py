"""Reviewers claim items (locked for others while fresh), hand them on, ask for changes,
and delegate while away."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.domain.decisions import claim_is_active
from approvals.models import ApprovalRequest
from approvals.services import (
    AlreadyDecided,
    action_propose,
    approval_claim,
    approval_decide,
    approval_reassign,
    review_delegate,
)
from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted, ReasonRequired
from governance.domain.roles import Role
from governance.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def launch_item(campaign):
    return action_propose(
        campaign_id=campaign.pk,
        action="launch_campaign",
        payload={"reason": "Ready"},
        actor=Actor.for_agent("planner"),
        summary="Launch",
    ).approval


@pytest.fixture
def colleague(brand_a):
    return UserFactory(username="colleague", role=Role.MANAGER, brands=[brand_a])


def test_a_claim_is_fresh_for_a_while_then_frees_up():
    assert claim_is_active(NOW - timedelta(minutes=29), NOW, minutes=30)
    assert not claim_is_active(NOW - timedelta(minutes=30), NOW, minutes=30)
    assert not claim_is_active(None, NOW, minutes=30)


def test_a_claimed_item_is_locked_for_others_until_released(campaign_a, manager, colleague):
    item = launch_item(campaign_a)
    approval_claim(approval_id=item.pk, user=manager)
    with pytest.raises(NotPermitted, match="manager is reviewing this item"):
        approval_decide(approval_id=item.pk, user=colleague, approve=True)
    with pytest.raises(NotPermitted, match="manager is reviewing this item"):
        approval_claim(approval_id=item.pk, user=colleague)
    with pytest.raises(NotPermitted, match="Only the reviewer holding this item"):
        approval_reassign(approval_id=item.pk, user=colleague, to_user=colleague)
    approval_reassign(approval_id=item.pk, user=manager, to_user=None)  # release
    approval_decide(approval_id=item.pk, user=colleague, approve=True)
    assert ApprovalRequest.objects.get(pk=item.pk).status == "approved"
    actions = list(
        AuditEvent.objects.filter(action__startswith="approval.").values_list("action", flat=True)
    )
    assert actions == [
        "approval.requested",
        "approval.claimed",
        "approval.released",
        "approval.approved",
    ]


def test_a_stale_claim_does_not_block_the_queue(campaign_a, manager, colleague):
    item = launch_item(campaign_a)
    approval_claim(approval_id=item.pk, user=manager)
    ApprovalRequest.objects.filter(pk=item.pk).update(claimed_at=NOW - timedelta(hours=2))
    approval_decide(approval_id=item.pk, user=colleague, approve=True)


def test_reassigning_only_to_someone_who_may_decide(campaign_a, manager, colleague, legal_a):
    item = launch_item(campaign_a)
    approval_claim(approval_id=item.pk, user=manager)
    with pytest.raises(NotPermitted, match="legal-a cannot take it"):
        approval_reassign(approval_id=item.pk, user=manager, to_user=legal_a)
    approval_reassign(approval_id=item.pk, user=manager, to_user=colleague)
    with pytest.raises(NotPermitted, match="colleague is reviewing"):
        approval_decide(approval_id=item.pk, user=manager, approve=True)
    approval_decide(approval_id=item.pk, user=colleague, approve=True)


def test_asking_for_changes_needs_a_comment_and_sends_it_back(campaign_a, manager):
    item = launch_item(campaign_a)
    with pytest.raises(ReasonRequired, match="a comment is required"):
        approval_decide(approval_id=item.pk, user=manager, approve=False, request_changes=True)
    approval_decide(
        approval_id=item.pk,
        user=manager,
        approve=False,
        request_changes=True,
        note="Add the holiday audience first",
    )
    item.refresh_from_db()
    assert item.status == "changes_requested" and item.executed_at is None
    assert AuditEvent.objects.filter(action="approval.changes_requested").count() == 1
    with pytest.raises(AlreadyDecided):
        approval_decide(approval_id=item.pk, user=manager, approve=True)


def test_a_delegate_decides_while_the_reviewer_is_away(campaign_b, manager, brand_b):
    item = launch_item(campaign_b)
    # A legal reviewer of brand B covers the manager's queue: not a manager themselves.
    stand_in = UserFactory(username="stand-in", role=Role.LEGAL, brands=[brand_b])
    with pytest.raises(NotPermitted):
        approval_decide(approval_id=item.pk, user=stand_in, approve=True)
    review_delegate(
        reviewer=manager,
        delegate=stand_in,
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(days=3),
    )
    stand_in = UserFactory._meta.model.objects.get(pk=stand_in.pk)  # fresh: no cached scope
    from approvals.selectors import queue_for_user

    assert [a.pk for a in queue_for_user(stand_in)] == [item.pk]
    approval_decide(approval_id=item.pk, user=stand_in, approve=True)


def test_a_delegation_never_opens_a_brand_the_delegate_may_not_see(
    client, campaign_a, campaign_b, manager, legal_a
):
    """An outside probe: a manager delegated to the legal reviewer of brand A, and brand
    B's items became visible and decidable by legal on the page (the API said 404)."""
    from approvals.selectors import queue_for_user
    from governance.policies import approval_reviewers

    item_b = launch_item(campaign_b)
    item_a = launch_item(campaign_a)
    review_delegate(
        reviewer=manager,
        delegate=legal_a,
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(days=3),
    )
    legal = UserFactory._meta.model.objects.get(pk=legal_a.pk)
    assert [a.pk for a in queue_for_user(legal)] == [item_a.pk]  # brand A only
    with pytest.raises(NotPermitted):
        approval_decide(approval_id=item_b.pk, user=legal, approve=True)
    assert legal_a not in approval_reviewers(item_b)
    client.force_login(legal_a)
    page = client.get(reverse("approvals:queue")).content.decode()
    assert f'id="approval-{item_a.pk}"' in page and f'id="approval-{item_b.pk}"' not in page
    response = client.post(reverse("approvals:decide", args=[item_b.pk]), {"verdict": "approve"})
    assert response.status_code in (403, 404)
    item_b.refresh_from_db()
    assert item_b.status == "pending"


def test_delegation_ends_and_never_covers_your_own_requests(campaign_a, manager, colleague):
    review_delegate(
        reviewer=manager,
        delegate=colleague,
        starts_at=NOW - timedelta(days=5),
        ends_at=NOW - timedelta(days=1),
    )
    own = action_propose(
        campaign_id=campaign_a.pk,
        action="launch_campaign",
        payload={"reason": "x"},
        actor=Actor.for_agent("planner"),
        summary="s",
    ).approval
    ApprovalRequest.objects.filter(pk=own.pk).update(requested_by_user=colleague)
    with pytest.raises(NotPermitted, match="cannot decide a request you raised"):
        approval_decide(approval_id=own.pk, user=colleague, approve=True)


@pytest.mark.parametrize(
    ("delegate", "days", "message"),
    [
        ("self", 3, "someone else"),
        ("colleague", -1, "after the start"),
        ("colleague", 90, "60 days"),
    ],
)
def test_bad_delegations_are_refused(manager, colleague, delegate, days, message):
    with pytest.raises(DomainError, match=message):
        review_delegate(
            reviewer=manager,
            delegate=manager if delegate == "self" else colleague,
            starts_at=NOW,
            ends_at=NOW + timedelta(days=days),
        )


def test_the_card_claims_over_http_and_shows_who_holds_it(login, manager, colleague, campaign_a):
    item = launch_item(campaign_a)
    client = login(manager)
    response = client.post(
        reverse("approvals:claim", args=[item.pk]), {"action": "claim"}, HTTP_HX_REQUEST="true"
    )
    assert "Under review by <strong>manager</strong>" in response.content.decode()
    page = login(colleague).get(reverse("approvals:queue")).content.decode()
    assert "Under review by <strong>manager</strong>" in page
    assert 'value="claim"' not in page  # nothing to press while it is held
    away = login(manager).post(
        reverse("approvals:away"),
        {"delegate": "colleague", "starts": "2026-12-01", "ends": "2026-11-01"},
    )
    assert away.status_code == 422 and "after the start" in away.content.decode()
