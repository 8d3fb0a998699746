"""Live updates for the tower: group names and broadcasting after commit.

Lifecycle of an update:
1. A service changes a campaign and announces ``governance.events.campaign_changed``
   after commit (nothing if the transaction rolls back); ``controltower.subscribers``
   hands it to :func:`campaign_committed`.
2. :func:`campaign_committed` coalesces bursts: the first change of a
   campaign in a window is pushed at once (leading edge); later changes in the window
   schedule one trailing push (a Celery task), which renders whatever is current then.
3. :func:`push_campaign` renders the row and the brand's summary counts ONCE and sends
   them to the brand's group. Everyone in that group may see that brand, so the same
   fragment serves every socket; consumers only forward it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from typing import Any

import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

_redis_client: redis.Redis | None = None
_publisher_loop: asyncio.AbstractEventLoop | None = None
_publisher_lock = threading.Lock()


def brand_group(brand_id: int) -> str:
    """The group of every socket whose user may see ``brand_id``."""
    return f"tower.brand.{brand_id}"


def _redis() -> redis.Redis:
    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(settings.REDIS_URL)
    return _redis_client


def campaign_committed(campaign_id: int) -> None:
    window_ms = settings.CONTROLTOWER_TOWER_COALESCE_MS
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    try:
        client = _redis()
        if client.set(f"{prefix}:tower:lead:{campaign_id}", 1, nx=True, px=window_ms):
            push_campaign(campaign_id)
            return
        # TRICKY: the trailing marker expires before the trailing push runs, so a change
        # committed after the push has read the database always schedules another one.
        if client.set(
            f"{prefix}:tower:trail:{campaign_id}", 1, nx=True, px=max(1, window_ms * 4 // 5)
        ):
            from .tasks import tower_push_campaign

            tower_push_campaign.apply_async((campaign_id,), countdown=window_ms / 1000)
    except (redis.RedisError, OSError) as exc:
        # A live update is a convenience: the change is committed and every page that
        # reconnects or reloads resyncs. Never fail the request over it.
        # One line, not a traceback per change: with Redis down every change lands here.
        logger.warning("Could not announce the change of campaign %s: %s", campaign_id, exc)


def push_campaign(campaign_id: int) -> None:
    """Render the campaign's row and its brand's counts once; send them to the brand group."""
    from . import selectors

    row = selectors.tower_row(campaign_id)
    if row is None:
        return
    summary = selectors.brand_summary(row.campaign.brand_id)
    html = render_to_string(
        "controltower/tower.html#tower-update", {"row": row, "brand_summary": summary}
    )
    publish(
        brand_group(row.campaign.brand_id),
        {"type": "tower.update", "campaign_id": campaign_id, "html": html},
    )
    # The campaign's page re-fetches its live sections: each viewer's own render carries
    # their permissions and CSRF token, which one shared fragment could not.
    publish(
        campaign_group(campaign_id),
        {"type": "campaign.changed", "campaign_id": campaign_id, "html": CAMPAIGN_CHANGED},
    )


#: Tells a campaign's open pages that it changed (``static/js/live.js`` listens).
CAMPAIGN_CHANGED = (
    '<div id="campaign-changed" hx-swap-oob="true" hidden data-campaign-changed="1"></div>'
)


def publish(group: str, message: dict[str, Any], *, timeout: float = 5.0) -> None:
    """Send to a group from sync code (web threads, Celery workers, commands).

    TRICKY: ``async_to_sync`` from a thread without a loop makes a new event loop per
    call, and the pub/sub layer opens a new Redis connection per loop (~5 ms each time).
    One long-lived loop per process keeps one connection and costs well under 1 ms.
    """
    # The group rides along: each process's fan-out hub routes by it.
    future = asyncio.run_coroutine_threadsafe(
        get_channel_layer().group_send(group, {**message, "group": group}), _loop()
    )
    future.result(timeout=timeout)


def _loop() -> asyncio.AbstractEventLoop:
    global _publisher_loop
    with _publisher_lock:
        if _publisher_loop is None or _publisher_loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="tower-publisher", daemon=True).start()
            _publisher_loop = loop
        return _publisher_loop


def queue_group(brand_id: int, role: str) -> str:
    """The group of every socket whose user works ``role``'s queue for ``brand_id``."""
    return f"queue.brand.{brand_id}.{role.lower().replace(' ', '_')}"


def approval_committed(approval_id: int, created: bool, escalated: bool) -> None:
    try:
        push_approval(approval_id, created=created, escalated=escalated)
    except (redis.RedisError, OSError) as exc:
        logger.warning("Could not announce approval request %s: %s", approval_id, exc)


def approval_moved(approval_id: int, from_role: str) -> None:
    from approvals.models import ApprovalRequest
    from approvals.selectors import queue_group_count

    try:
        brand_id = (
            ApprovalRequest.objects.filter(pk=approval_id)
            .values_list("brand_id", flat=True)
            .first()
        )
        if brand_id is None:
            return
        group = queue_group(brand_id, from_role)
        count = queue_group_count(brand_id, from_role)
        html = (
            f'<article id="approval-{approval_id}" hx-swap-oob="delete"></article>'
            f'<span id="queue-count-{group.replace(".", "-")}" class="queue-count" '
            f'data-count="{count}" hidden hx-swap-oob="true"></span>'
        )
        publish(group, {"type": "queue.update", "approval_id": approval_id, "html": html})
        push_approval(approval_id, created=True)
    except (redis.RedisError, OSError) as exc:
        logger.warning("Could not announce the move of approval request %s: %s", approval_id, exc)


def push_approval(approval_id: int, *, created: bool = False, escalated: bool = False) -> None:
    """Render the card and its queue's count once; send them to the queue's group."""
    from approvals.selectors import approval_card, queue_group_count

    card = approval_card(approval_id)
    if card is None:
        return
    approval = card["approval"]
    # Its own queue, and the tier it was escalated to (if any), each get it once.
    for role in filter(None, {approval.queue_role, approval.escalated_to}):
        group = queue_group(approval.brand_id, role)
        html = render_to_string(
            "approvals/queue.html#queue-update",
            {
                **card,
                # New to this group's pages: a new item, or one just escalated to this tier.
                "created": created or (escalated and role == approval.escalated_to),
                "group_id": group.replace(".", "-"),
                "group_count": queue_group_count(approval.brand_id, role),
            },
        )
        publish(group, {"type": "queue.update", "approval_id": approval_id, "html": html})


def campaign_group(campaign_id: int) -> str:
    """The group of every socket open on ``campaign_id``'s page (its user may see it)."""
    return f"campaign.{campaign_id}"


def agent_work_committed(campaign_id: int) -> None:
    try:
        push_agent_work(campaign_id)
    except (redis.RedisError, OSError) as exc:
        logger.warning("Could not announce the agent work of campaign %s: %s", campaign_id, exc)
    # What the agents do is the campaign's next action: its row and page header follow.
    campaign_committed(campaign_id)


def push_agent_work(campaign_id: int) -> None:
    """Render the campaign's Plan and Agent work sections once; send them to the
    campaign's group as out-of-band swaps (the page's own partials)."""
    from agents.selectors import campaign_agent_work

    agent_work = campaign_agent_work(campaign_id)
    if agent_work is None:
        return
    html = render_to_string(
        "campaigns/campaign_detail.html#agent-work-update", {"agent_work": agent_work}
    )
    publish(
        campaign_group(campaign_id),
        {"type": "agent_work.update", "campaign_id": campaign_id, "html": html},
    )


def user_group(user_id: int) -> str:
    """The group of every socket of one person (their notifications)."""
    return f"user.{user_id}"


def notifications_committed(user_ids: Iterable[int]) -> None:
    user_ids = sorted(set(user_ids))
    try:
        for user_id in user_ids:
            push_notifications(user_id)
    except (redis.RedisError, OSError) as exc:
        logger.warning("Could not announce notifications to %s: %s", user_ids, exc)


def push_notifications(user_id: int) -> None:
    """Render one person's notification link (its unread count) and send it to them."""
    from monitoring.selectors import unread_count

    html = render_to_string(
        "base.html#notifications-link",
        {"unread_notifications": unread_count(user_id), "live": True},
    )
    publish(user_group(user_id), {"type": "notifications.update", "html": html})


def access_changed(user_ids: Iterable[int]) -> None:
    """Tell these people's open sockets to re-check what they may see (an assignment or
    role changed, they logged out, they were deactivated): a socket keeps only the
    groups still allowed, or closes (``controltower.consumers``)."""
    user_ids = sorted(set(user_ids))
    try:
        for user_id in user_ids:
            publish(user_group(user_id), {"type": "access.changed", "user_id": user_id})
    except (redis.RedisError, OSError) as exc:
        logger.warning("Could not tell the sockets of %s that access changed: %s", user_ids, exc)
