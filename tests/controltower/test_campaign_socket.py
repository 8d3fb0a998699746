"""A campaign page's socket: it joins the campaign's group only for a campaign its user
may see, and receives the plan and agent work rendered once, as out-of-band swaps."""

import asyncio
import logging

import pytest
from channels.db import database_sync_to_async  # closes its DB connections
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client
from django.utils import timezone

from agents.models import AgentRun, Handoff
from controltower import realtime
from controltower.asgi import application
from governance import events

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

QUIET = 0.6  # seconds of silence that count as "received nothing"


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def open_socket(user, query=""):
    cookie = await database_sync_to_async(session_cookie)(user)
    headers = [(b"origin", b"http://localhost"), (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(application, f"/ws/tower/{query}", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


def plan_for(campaign) -> None:
    """A planner run with its accepted plan, as agents.services leaves them, announced
    the way the services announce it."""
    with transaction.atomic():
        run = AgentRun.objects.create(
            campaign=campaign,
            agent="planner",
            key=f"plan:{campaign.pk}",
            status="succeeded",
            model_label="offline composer",
            attempts=1,
            started_at=timezone.now(),
            finished_at=timezone.now(),
        )
        Handoff.objects.create(
            run=run,
            campaign=campaign,
            kind="plan",
            schema_version=1,
            status="accepted",
            payload={
                "schema_version": 1,
                "campaign_id": campaign.pk,
                "objective": f"The plan of {campaign.name}",
                "success_metric": "Conversions",
                "steps": [
                    {
                        "specialist": "content",
                        "goal": "Draft <b>variants</b>",
                        "expected_output": "Variants",
                        "needs_approval": True,
                    }
                ],
            },
        )
        events.announce_on_commit(events.agent_work_changed, campaign_id=campaign.pk)


async def drain(communicator) -> list[str]:
    """Every message that arrives until the socket has been quiet for ``QUIET``."""
    messages = []
    while not await communicator.receive_nothing(timeout=QUIET):
        messages.append(await communicator.receive_from(timeout=1))
    return messages


def agent_work(messages: list[str]) -> list[str]:
    return [m for m in messages if 'id="agent-plan"' in m]


def campaign_changed(messages: list[str]) -> list[str]:
    return [m for m in messages if "data-campaign-changed" in m]


async def test_the_campaign_page_receives_its_plan_and_agent_work(manager, campaign_a):
    communicator = await open_socket(manager, f"?campaign={campaign_a.pk}")
    await database_sync_to_async(plan_for)(campaign_a)
    html = await communicator.receive_from(timeout=5)
    assert '<section id="agent-plan" class="card" hx-swap-oob="true"' in html
    assert '<section id="agent-work" class="card" hx-swap-oob="true"' in html
    assert "The plan of A campaign" in html and "Draft &lt;b&gt;variants&lt;/b&gt;" in html
    assert "Planner agent: succeeded" in html
    # Then the campaign's row (its next action follows the agents) and one signal that
    # the page's other live sections should fetch themselves again; nothing more.
    rest = await drain(communicator)
    assert not agent_work(rest)  # one change, one agent-work message
    assert len(campaign_changed(rest)) == 1
    assert [m for m in rest if f'id="tower-row-{campaign_a.pk}"' in m]
    await communicator.disconnect()


async def test_every_viewer_gets_the_same_fragment_rendered_once(
    manager, legal_a, campaign_a, monkeypatch
):
    renders = []
    original = realtime.render_to_string
    monkeypatch.setattr(
        realtime, "render_to_string", lambda *a, **k: renders.append(a[0]) or original(*a, **k)
    )
    sockets = [await open_socket(u, f"?campaign={campaign_a.pk}") for u in (manager, legal_a)]
    await database_sync_to_async(plan_for)(campaign_a)
    received = await asyncio.gather(*(c.receive_from(timeout=5) for c in sockets))
    assert len(set(received)) == 1 and "The plan of A campaign" in received[0]
    await asyncio.gather(*(drain(c) for c in sockets))
    # Once for everyone: the agent work, and the campaign's row (for the tower).
    assert renders == [
        "campaigns/campaign_detail.html#agent-work-update",
        "controltower/tower.html#tower-update",
    ]
    for communicator in sockets:
        await communicator.disconnect()


async def test_a_campaign_of_another_brand_is_never_joined(legal_a, campaign_a, campaign_b):
    # Legal reviewer of brand A asks to follow brand B's campaign: the socket stays open
    # for what they may see, but B's agent work never reaches it.
    communicator = await open_socket(legal_a, f"?campaign={campaign_b.pk}")
    await database_sync_to_async(plan_for)(campaign_b)
    assert await communicator.receive_nothing(timeout=QUIET)
    await database_sync_to_async(plan_for)(campaign_a)  # not the page it follows either
    messages = await drain(communicator)  # A's tower row only: legal may see brand A
    assert not agent_work(messages) and not campaign_changed(messages)
    await communicator.disconnect()


@pytest.mark.parametrize("query", ["", "?campaign=", "?campaign=abc", "?campaign=%C2%B2"])
async def test_only_a_page_that_names_the_campaign_joins_it(manager, campaign_a, query):
    communicator = await open_socket(manager, query)
    await database_sync_to_async(plan_for)(campaign_a)
    messages = await drain(communicator)  # the tower row, never the page's sections
    assert not agent_work(messages) and not campaign_changed(messages)
    await communicator.disconnect()


async def test_a_rolled_back_change_announces_nothing(manager, campaign_a):
    communicator = await open_socket(manager, f"?campaign={campaign_a.pk}")

    def announce_then_fail():
        with transaction.atomic():
            events.announce_on_commit(events.agent_work_changed, campaign_id=campaign_a.pk)
            raise RuntimeError("the run's work failed")

    with pytest.raises(RuntimeError):
        await database_sync_to_async(announce_then_fail)()
    assert await communicator.receive_nothing(timeout=QUIET)
    await communicator.disconnect()


async def test_a_change_commits_even_when_the_live_update_cannot_be_sent(
    settings, caplog, campaign_a
):
    """Live updates are a convenience: with the channel layer's Redis unreachable the
    work still commits and one warning line says what was not announced."""
    layer = settings.CHANNEL_LAYERS["default"]
    dead = {**layer, "CONFIG": {**layer["CONFIG"], "hosts": ["redis://127.0.0.1:1/0"]}}
    settings.CHANNEL_LAYERS = {"default": dead}
    with caplog.at_level(logging.WARNING, logger="controltower.realtime"):
        await database_sync_to_async(plan_for)(campaign_a)
    saved = Handoff.objects.filter(campaign=campaign_a, kind="plan").exists
    assert await database_sync_to_async(saved)()
    warnings = [r.getMessage() for r in caplog.records if r.name == "controltower.realtime"]
    # One line per announcement that could not be made: the agent work, and the row.
    assert len(warnings) == 2
    assert "Could not announce the agent work of campaign" in warnings[0]
    assert "Could not announce the change of campaign" in warnings[1]
