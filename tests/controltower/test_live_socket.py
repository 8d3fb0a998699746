"""The tower's websocket, through the real ASGI stack (session cookie, origin check, Redis
pub/sub channel layer): who may connect, who hears what, and nothing before commit."""

import asyncio

import pytest
from channels.db import database_sync_to_async  # closes its DB connections
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from campaigns.models import Campaign
from campaigns.services import campaign_transition_phase
from controltower.asgi import application
from governance.domain.audit import Actor
from governance.models import AuditEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

QUIET = 0.6  # seconds of silence that count as "received nothing"


@pytest.fixture(autouse=True)
def _no_coalescing(settings):
    # Each change in these tests is its own update; coalescing has its own test.
    settings.CONTROLTOWER_TOWER_COALESCE_MS = 1


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def open_socket(user=None, origin=b"http://localhost"):
    headers = [(b"origin", origin)]
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/tower/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def move(campaign, to_phase, reason=""):
    await database_sync_to_async(campaign_transition_phase)(
        campaign_id=campaign.pk, to_phase=to_phase, actor=Actor.system("tests"), reason=reason
    )


async def test_an_unauthenticated_socket_is_refused():
    _, connected, code = await open_socket(user=None)
    assert not connected and code == 4401


async def test_a_socket_from_another_origin_is_refused(manager):
    _, connected, _ = await open_socket(manager, origin=b"http://evil.example")
    assert not connected


async def test_a_user_with_no_brand_is_refused():
    from governance.domain.roles import Role
    from tests.factories import UserFactory

    nobody = await database_sync_to_async(UserFactory)(role=Role.MANAGER)
    _, connected, code = await open_socket(nobody)
    assert not connected and code == 4403


async def test_a_change_reaches_the_brand_group_as_an_oob_row(manager, campaign_a):
    communicator, connected, _ = await open_socket(manager)
    assert connected
    await move(campaign_a, "execution")
    html = await communicator.receive_from(timeout=5)
    assert f'<tr id="tower-row-{campaign_a.pk}" hx-swap-oob="true" class="row-updated"' in html
    assert "Execution" in html
    assert (
        f'id="brand-summary-{campaign_a.brand_id}" class="brand-summary" hidden hx-swap-oob="true"'
        in html
    )
    await communicator.disconnect()


async def test_legal_reviewer_of_brand_a_never_hears_about_brand_b(legal_a, campaign_a, campaign_b):
    communicator, connected, _ = await open_socket(legal_a)
    assert connected
    await move(campaign_b, "execution")
    await move(campaign_b, "escalated", reason="CPA spike")
    assert await communicator.receive_nothing(timeout=QUIET)
    await move(campaign_a, "execution")  # their own brand still arrives
    html = await communicator.receive_from(timeout=5)
    assert f"tower-row-{campaign_a.pk}" in html and "B campaign" not in html
    assert await communicator.receive_nothing(timeout=QUIET)
    await communicator.disconnect()


async def test_a_change_rolled_back_broadcasts_nothing(manager, campaign_a):
    communicator, connected, _ = await open_socket(manager)
    assert connected

    def change_then_fail():
        with transaction.atomic():
            campaign_transition_phase(
                campaign_id=campaign_a.pk, to_phase="execution", actor=Actor.system("tests")
            )
            raise RuntimeError("the rest of the work failed")

    with pytest.raises(RuntimeError):
        await database_sync_to_async(change_then_fail)()
    assert await communicator.receive_nothing(timeout=QUIET)
    phase = await database_sync_to_async(lambda: Campaign.objects.get(pk=campaign_a.pk).phase)()
    assert phase == "briefing"
    await communicator.disconnect()


async def test_messages_from_the_client_get_a_clear_answer_and_change_nothing(manager, campaign_a):
    communicator, connected, _ = await open_socket(manager)
    assert connected
    events = await database_sync_to_async(AuditEvent.objects.count)()
    await communicator.send_to(
        text_data=f'{{"to_phase": "completed", "campaign": {campaign_a.pk}}}'
    )
    answer = await communicator.receive_from(timeout=5)
    assert 'id="tower-notice"' in answer and "the message was ignored" in answer
    await communicator.send_to(bytes_data=b"\x00\xff garbage")
    assert "ignored" in await communicator.receive_from(timeout=5)
    assert await database_sync_to_async(AuditEvent.objects.count)() == events
    phase = await database_sync_to_async(lambda: Campaign.objects.get(pk=campaign_a.pk).phase)()
    assert phase == "briefing"
    await communicator.disconnect()


async def test_many_sockets_each_receive_the_same_fragment_once(manager, legal_a, campaign_a):
    sockets = [await open_socket(u) for u in (manager, manager, legal_a)]
    assert all(connected for _, connected, _ in sockets)
    await move(campaign_a, "execution")
    received = await asyncio.gather(*(c.receive_from(timeout=5) for c, _, _ in sockets))
    assert len(set(received)) == 1  # rendered once per group, forwarded as is
    for communicator, _, _ in sockets:
        assert await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()


async def test_a_page_older_than_the_latest_change_is_told_to_resync(manager, campaign_a):
    from governance.models import AuditChainHead

    await move(campaign_a, "execution")  # something happened
    head = await database_sync_to_async(lambda: AuditChainHead.objects.get(id=1).seq)()
    headers = [(b"origin", b"http://localhost")]
    cookie = await database_sync_to_async(session_cookie)(manager)
    headers.append((b"cookie", f"sessionid={cookie}".encode()))

    stale = WebsocketCommunicator(application, f"/ws/tower/?since={head - 1}", headers=headers)
    assert (await stale.connect(timeout=5))[0]
    assert 'data-resync="1"' in await stale.receive_from(timeout=5)
    await stale.disconnect()

    fresh = WebsocketCommunicator(application, f"/ws/tower/?since={head}", headers=headers)
    assert (await fresh.connect(timeout=5))[0]
    assert await fresh.receive_nothing(timeout=QUIET)
    await fresh.disconnect()
