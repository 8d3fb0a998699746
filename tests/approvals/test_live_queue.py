"""Queues over the live socket: a new item reaches the sockets of its queue (and only
those), a decision replaces the card, and an escalated item can be decided by its tier."""

import pytest
from channels.db import database_sync_to_async

from approvals.models import ApprovalRequest
from approvals.services import action_propose, approval_decide
from governance.domain.audit import Actor
from governance.domain.errors import NotPermitted
from governance.domain.roles import Role
from tests.controltower.test_live_socket import QUIET, open_socket
from tests.factories import UserFactory

COPY = {"channel": "email", "headline": "H", "body": "B", "claims": ["Clinically proven"]}


def propose_legal_item(campaign):
    return action_propose(
        campaign_id=campaign.pk,
        action="publish_content",
        payload=COPY,
        actor=Actor.for_agent("content"),
        summary="Email with a claim",
        claims=COPY["claims"],
    ).approval


async def drain(communicator) -> list[str]:
    received = []
    while not await communicator.receive_nothing(timeout=QUIET):
        received.append(await communicator.receive_from())
    return received


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_new_item_reaches_only_its_queue_and_a_decision_replaces_it(
    settings, manager, legal_a, campaign_a
):
    settings.CONTROLTOWER_TOWER_COALESCE_MS = 1
    legal_socket, ok_legal, _ = await open_socket(legal_a)
    manager_socket, ok_manager, _ = await open_socket(manager)
    assert ok_legal and ok_manager

    approval = await database_sync_to_async(propose_legal_item)(campaign_a)
    legal_messages = await drain(legal_socket)
    # A new item joins the list as a row (its card opens in the pane when chosen).
    card = next(m for m in legal_messages if f'id="queue-row-{approval.pk}"' in m)
    assert 'hx-swap-oob="beforeend:#queue-items"' in card
    assert "Email with a claim" in card and "1 claim for legal" in card
    group = f"queue-brand-{campaign_a.brand_id}-legal_reviewer"
    assert f'id="queue-count-{group}" class="queue-count" data-count="1"' in card
    manager_messages = await drain(manager_socket)
    assert manager_messages  # the tower row (1 pending) ...
    assert not any(f'id="approval-{approval.pk}"' in m for m in manager_messages)  # ... no card

    await database_sync_to_async(approval_decide)(
        approval_id=approval.pk, user=legal_a, approve=False, note="Unsupported"
    )
    decided = next(m for m in await drain(legal_socket) if f'id="approval-{approval.pk}"' in m)
    assert f'<article id="approval-{approval.pk}" hx-swap-oob="true"' in decided
    assert "Rejected" in decided and 'data-count="0"' in decided
    assert f'<li id="queue-row-{approval.pk}" class="queue-row status-rejected' in decided
    await legal_socket.disconnect()
    await manager_socket.disconnect()


@pytest.mark.django_db
def test_an_escalated_item_can_be_decided_by_the_tier_it_went_to(campaign_a, legal_a):
    approval = propose_legal_item(campaign_a)
    admin = UserFactory(role=Role.ADMIN)
    with pytest.raises(NotPermitted, match="not a Legal Reviewer"):
        approval_decide(approval_id=approval.pk, user=admin, approve=True)
    from django.utils import timezone

    ApprovalRequest.objects.filter(pk=approval.pk).update(
        escalated_at=timezone.now(), escalated_to=Role.ADMIN.value
    )
    approval_decide(approval_id=approval.pk, user=admin, approve=True)
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "approved"
