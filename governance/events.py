"""What happened, announced to whichever app registered for it: the ground floor's registry.

A service announces a change; it never calls up into an app above it. The apps above
react: each connects its receivers in its ``AppConfig.ready()``, from its own
``subscribers.py`` — so ``grep -rn "events\\." */subscribers.py`` lists every reaction
in the product, and ``manage.py subscribers`` prints them as the running code has them.

Two ways to announce, by what the reaction does:

- :func:`announce` — **in the transaction** of the change. For reactions that write rows
  which must commit or roll back with it (webhook deliveries are an outbox; a follow-up
  escalation). A receiver that raises fails the change.
- :func:`announce_on_commit` — **after commit**, for reactions outside the database (the
  tower's live push, a socket re-checking access, starting an agent's task). A rolled-back
  change announces nothing; a receiver that fails is logged and never fails the change,
  which is already committed.

Events carry ids, never objects: a receiver reads what it needs, as it is now.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# --- After commit -----------------------------------------------------------------------

#: A campaign's phase, budget, flags, holds or next action changed. ``campaign_id``.
campaign_changed = Signal()
#: A campaign's agent work (runs, handoffs, drafts) changed. ``campaign_id``.
agent_work_changed = Signal()
#: An approval request was created, decided or escalated. ``approval_id``, ``created``,
#: ``escalated``.
approval_changed = Signal()
#: An approval request moved to another queue. ``approval_id``, ``from_role``.
approval_moved = Signal()
#: What these people may see changed (brand assignments). ``user_ids``.
access_changed = Signal()
#: These people's notifications changed. ``user_ids``.
notifications_changed = Signal()

# --- In the transaction -----------------------------------------------------------------

#: A brief was submitted and its campaign wants a plan (agents queue the planner).
#: ``campaign_id``.
planning_requested = Signal()
#: Copy was cleared for publishing (agents publish it if the campaign is live).
#: ``campaign_id``.
content_cleared = Signal()
#: A campaign is about to change phase (a live change). Receivers LOCK what they will
#: change after the audit event (lock order, ``governance.services``) and nothing else.
#: ``campaign_id``, ``from_phase``, ``to_phase``.
phase_changing = Signal()
#: A campaign changed phase (a live change), after its audit event: the work it starts
#: (agents) and the escalation it opens or resolves (monitoring). ``campaign_id``,
#: ``from_phase``, ``to_phase``, ``actor`` (an ``Actor``), ``reason``, ``origin`` (why
#: it escalated, from the rules; None when a person did).
phase_changed = Signal()
#: People must be told (in-app, by email, optionally Slack): monitoring's notifications.
#: ``user_ids``, ``campaign_id``, ``title``, ``body``, ``url``; optional ``approval_id``,
#: ``flag_id``, ``slack``.
people_to_notify = Signal()
#: An agent's run stopped without its result (failed, or escalated): monitoring opens
#: the escalation the rules call for, in the stop's transaction. Sent after the run's
#: audit event with its campaign already locked, so the receiver may lock it again
#: (lock order, ``governance.services``) and nothing new. ``campaign_id``,
#: ``agent_run_id``, ``kind`` (what went wrong: retries_exhausted, spend_cap,
#: malformed_output, model_unavailable, handoff_invalid, content_check…), ``summary``
#: (the agent and why, as people read it), ``reason``, ``findings`` (what a content
#: check found; ``()`` otherwise), ``actor`` (the agent's ``Actor``).
agent_stopped = Signal()
#: An approval request no longer waits for its reviewers (answered, or moved to another
#: queue): monitoring marks their "waiting for you" notices read. ``approval_id``.
approval_settled = Signal()
#: Legal approved a claim in a brand's registry (after the claim's audit event): approvals
#: sends on the requests that waited for legal only because of claims now approved —
#: without waiting for any row lock (lock order, ``governance.services``). ``brand_id``,
#: ``actor`` (an ``Actor``). Each receiver answers with the ids of the requests it moved.
claims_cleared = Signal()

#: Something the outside world may subscribe to happened (see :data:`ANNOUNCEMENTS`).
#: ``event``, ``brand_id``, ``data``.
announced = Signal()

#: Every announcement a brand's admin can subscribe a webhook to.
ANNOUNCEMENTS: dict[str, str] = {
    "approval.requested": "An agent's action waits for a person",
    "approval.decided": "A person approved, rejected or sent back an action",
    "campaign.phase_changed": "A campaign moved to another phase",
    "escalation.opened": "Work stopped for a person",
    "escalation.acknowledged": "Someone took an escalation",
    "escalation.resolved": "An escalation was resolved",
    "anomaly.flagged": "An anomaly flag fired",
    "sla.breached": "An SLA was breached",
}


def announce(signal: Signal, **ids: Any) -> list[Any]:
    """Tell the receivers of ``signal`` now, inside the current transaction. What each
    receiver returned, in the order they were connected (most return None)."""
    return [answer for _receiver, answer in signal.send(sender=None, **ids)]


def announce_on_commit(signal: Signal, **ids: Any) -> None:
    """Tell the receivers of ``signal`` once the current transaction commits."""
    transaction.on_commit(partial(_send_committed, signal, ids))


def _send_committed(signal: Signal, ids: dict[str, Any]) -> None:
    for receiver, result in signal.send_robust(sender=None, **ids):
        if isinstance(result, Exception):
            # The change is committed; its follow-up is a convenience that the next
            # reload or sweep makes good. One line, not a failure of the change.
            logger.error(
                "%s failed after %s: %s",
                getattr(receiver, "__qualname__", receiver),
                _name(signal),
                result,
                exc_info=result,
            )


def announce_publicly(*, event: str, brand_id: int, data: dict[str, Any]) -> None:
    """Announce ``event`` (one of :data:`ANNOUNCEMENTS`) for a brand, in the transaction of
    the change it describes. Ids in ``data``, never objects."""
    if event not in ANNOUNCEMENTS:
        raise ValueError(f"Unknown event type “{event}”.")
    announce(announced, event=event, brand_id=brand_id, data=data)


def _name(signal: Signal) -> str:
    for name, value in globals().items():
        if value is signal:
            return name
    return repr(signal)


def subscribers() -> Iterable[tuple[str, str]]:
    """``(event, receiver)`` for every connected receiver, for ``manage.py subscribers``."""
    for name, value in sorted(globals().items()):
        if isinstance(value, Signal):
            for entry in value.receivers:
                receiver = entry[1]
                if isinstance(receiver, weakref.ReferenceType):
                    receiver = receiver()
                if receiver is not None:
                    yield name, f"{receiver.__module__}.{receiver.__qualname__}"
