"""Across processes: a change committed by a real Celery worker reaches a connected socket,
and a burst of changes reaches it coalesced, ending on the final state."""

import pytest
from channels.db import database_sync_to_async  # closes its DB connections

from campaigns.models import Campaign
from campaigns.tasks import agent_transition_phase
from tests.controltower.test_live_socket import open_socket
from tests.stack import celery_worker

pytestmark = [
    pytest.mark.stack,
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
]


@pytest.fixture
def worker(tmp_path):
    with celery_worker(tmp_path / "worker.log") as process:
        yield process


async def test_a_change_committed_by_a_worker_reaches_the_socket(worker, manager, campaign_a):
    communicator, connected, _ = await open_socket(manager)
    assert connected
    # Escalating is an agent move that needs no approval (the gate governs launches).
    await database_sync_to_async(agent_transition_phase.delay)(
        campaign_a.pk, "escalated", "performance", "CPA spike"
    )
    # The escalation also tells its owner (this manager): their notification count comes
    # on the same socket, in either order with the row.
    frames = [await communicator.receive_from(timeout=15) for _ in range(2)]
    (html,) = [f for f in frames if f'id="tower-row-{campaign_a.pk}"' in f]
    assert "Escalated" in html
    assert any('id="nav-notifications"' in f and "Notifications (1)" in f for f in frames)
    phase = await database_sync_to_async(lambda: Campaign.objects.get(pk=campaign_a.pk).phase)()
    assert phase == "escalated"
    await communicator.disconnect()


async def test_a_burst_is_coalesced_and_ends_on_the_final_state(
    worker, settings, manager, campaign_a
):
    settings.CONTROLTOWER_TOWER_COALESCE_MS = 400
    communicator, connected, _ = await open_socket(manager)
    assert connected
    # 8 changes in quick succession, committed here; the worker runs the trailing push.
    path = ["execution", "monitoring", "execution", "monitoring"] * 2
    from campaigns.services import campaign_transition_phase
    from governance.domain.audit import Actor

    for phase in path:
        await database_sync_to_async(campaign_transition_phase)(
            campaign_id=campaign_a.pk, to_phase=phase, actor=Actor.system("tests")
        )
    messages = []
    # TRICKY: a receive that times out cancels the consumer; ask for silence first.
    while not await communicator.receive_nothing(timeout=2):
        messages.append(await communicator.receive_from())
    assert 1 < len(messages) < len(path)  # the first at once, then one for the rest
    assert 'data-phase="monitoring"' in messages[-1]
    await communicator.disconnect()
