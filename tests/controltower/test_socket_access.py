"""A socket carries a brand only while its user may see it: revoking an assignment,
logging out, deactivating the user or the session running out stops it within a second.
(An outside probe found open sockets still receiving a brand's rows after each of these.)
"""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from controltower import realtime
from controltower.asgi import application
from governance.domain.audit import Actor
from governance.services import brand_permissions_change

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

QUIET = 0.6
ASSIGNMENT = "view_brand"


def logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def open_socket(client: Client) -> WebsocketCommunicator:
    cookie = client.cookies["sessionid"].value
    headers = [(b"origin", b"http://localhost"), (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/tower/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def rows_of(communicator, campaign) -> list[str]:
    """Push the campaign's row, and what of it this socket receives."""
    await database_sync_to_async(realtime.push_campaign)(campaign.pk)
    received = []
    while not await communicator.receive_nothing(timeout=QUIET):
        output = await communicator.receive_output(timeout=1)
        if output["type"] == "websocket.close":
            received.append("closed")
            break
        received.append(output.get("text", ""))
    return [m for m in received if m == "closed" or f'id="tower-row-{campaign.pk}"' in m]


async def closed(communicator, within: float = 2.0) -> int:
    output = await communicator.receive_output(timeout=within)
    while output["type"] != "websocket.close":
        output = await communicator.receive_output(timeout=within)
    return output["code"]


async def test_revoking_a_brand_stops_its_rows_and_keeps_the_others(
    manager, campaign_a, campaign_b, brand_a
):
    client = await database_sync_to_async(logged_in_client)(manager)
    communicator = await open_socket(client)
    assert len(await rows_of(communicator, campaign_a)) == 1

    await database_sync_to_async(brand_permissions_change)(
        brand=brand_a, assignee=manager, remove={ASSIGNMENT}, actor=Actor.system("test")
    )
    await asyncio.sleep(0.3)
    assert await rows_of(communicator, campaign_a) == []  # brand A: gone
    assert len(await rows_of(communicator, campaign_b)) == 1  # brand B: still there
    await communicator.disconnect()


async def test_losing_the_last_brand_closes_the_socket(legal_a, campaign_a, brand_a):
    client = await database_sync_to_async(logged_in_client)(legal_a)
    communicator = await open_socket(client)
    await database_sync_to_async(brand_permissions_change)(
        brand=brand_a, assignee=legal_a, remove={ASSIGNMENT}, actor=Actor.system("test")
    )
    assert await closed(communicator) == 4401
    await communicator.disconnect()


async def test_logging_out_closes_the_sockets_of_that_session(legal_a, campaign_a):
    client = await database_sync_to_async(logged_in_client)(legal_a)
    other = await database_sync_to_async(logged_in_client)(legal_a)  # another browser
    communicator = await open_socket(client)
    elsewhere = await open_socket(other)
    await database_sync_to_async(client.logout)()
    assert await closed(communicator) == 4401
    # The same person's other session is still signed in: its socket carries on.
    assert len(await rows_of(elsewhere, campaign_a)) == 1
    await communicator.disconnect()
    await elsewhere.disconnect()


async def test_a_deactivated_user_loses_the_socket(legal_a, campaign_a):
    client = await database_sync_to_async(logged_in_client)(legal_a)
    communicator = await open_socket(client)

    def deactivate():
        legal_a.is_active = False
        legal_a.save(update_fields=["is_active"])

    await database_sync_to_async(deactivate)()
    assert await closed(communicator) == 4401
    await communicator.disconnect()


async def test_a_session_that_runs_out_closes_its_socket(legal_a, campaign_a):
    def short_session():
        client = logged_in_client(legal_a)
        session = client.session
        session.set_expiry(1)
        session.save()
        return client

    client = await database_sync_to_async(short_session)()
    communicator = await open_socket(client)
    assert await closed(communicator, within=4.0) == 4401
    await communicator.disconnect()
