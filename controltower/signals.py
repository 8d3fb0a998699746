"""Who may see what changed outside the services (Django's auth): tell open sockets.

A socket carries a brand only while its user may see it (``controltower.consumers``):
logging out, a deactivated account and a role change reach it within a second. Brand
assignments go through ``approvals.services.brand_permissions_change``, which says so
itself.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from .realtime import access_changed_on_commit


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        access_changed_on_commit([user.pk])


@receiver(post_save, sender=get_user_model())
def _user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created:  # deactivated, made staff, renamed…: cheap to re-check
        access_changed_on_commit([instance.pk])


@receiver(m2m_changed, sender=get_user_model().groups.through)
def _roles_changed(sender: Any, instance: Any, action: str, pk_set: Any, **kwargs: Any) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if isinstance(instance, get_user_model()):
        access_changed_on_commit([instance.pk])
    else:  # a group's members changed
        access_changed_on_commit(pk_set or [])
