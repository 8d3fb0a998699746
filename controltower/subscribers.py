"""Everything the control tower reacts to: the live pushes after the apps' changes, and
changes of who may see what made outside the services (Django's auth).

Connected in ``ControltowerConfig.ready()``. A socket carries a brand only while its user
may see it (``controltower.consumers``): logging out, a deactivated account and a role
change reach it within a second; brand assignments (``governance.services``) announce
``events.access_changed`` themselves.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from governance import events

from . import realtime


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        events.announce_on_commit(events.access_changed, user_ids=[user.pk])


@receiver(post_save, sender=get_user_model())
def _user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created:  # deactivated, made staff, renamed…: cheap to re-check
        events.announce_on_commit(events.access_changed, user_ids=[instance.pk])


@receiver(m2m_changed, sender=get_user_model().groups.through)
def _roles_changed(sender: Any, instance: Any, action: str, pk_set: Any, **kwargs: Any) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if isinstance(instance, get_user_model()):
        events.announce_on_commit(events.access_changed, user_ids=[instance.pk])
    else:  # a group's members changed
        events.announce_on_commit(events.access_changed, user_ids=pk_set or [])


# --- The apps' changes, pushed live (after commit) ---------------------------------------


@receiver(events.campaign_changed)
def _campaign_changed(sender: Any, *, campaign_id: int, **kwargs: Any) -> None:
    realtime.campaign_committed(campaign_id)


@receiver(events.agent_work_changed)
def _agent_work_changed(sender: Any, *, campaign_id: int, **kwargs: Any) -> None:
    realtime.agent_work_committed(campaign_id)


@receiver(events.approval_changed)
def _approval_changed(
    sender: Any, *, approval_id: int, created: bool, escalated: bool, **kwargs: Any
) -> None:
    realtime.approval_committed(approval_id, created, escalated)


@receiver(events.approval_moved)
def _approval_moved(sender: Any, *, approval_id: int, from_role: str, **kwargs: Any) -> None:
    realtime.approval_moved(approval_id, from_role)


@receiver(events.notifications_changed)
def _notifications_changed(sender: Any, *, user_ids: list[int], **kwargs: Any) -> None:
    realtime.notifications_committed(user_ids)


@receiver(events.access_changed)
def _access_changed(sender: Any, *, user_ids: list[int], **kwargs: Any) -> None:
    realtime.access_changed(user_ids)
