"""What the navigation shows each person: only the pages their role may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from governance import policies


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool
    key: str = ""


@dataclass(frozen=True)
class QueueCount:
    group: str  # the element id suffix live updates replace
    n: int


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "nav_items": [],
            "nav_roles": [],
            "queue_counts": [],
            "live_since": 0,
            "unread_notifications": 0,
        }
    entries = [("Control tower", reverse("tower"))]
    queue_counts = []
    if policies.is_manager(user) or policies.is_legal_reviewer(user) or policies.is_admin(user):
        from approvals.selectors import queue_counts_for_user
        from controltower.realtime import queue_group

        queue_counts = [
            QueueCount(queue_group(brand_id, role).replace(".", "-"), n)
            for (brand_id, role), n in queue_counts_for_user(user).items()
        ]
        waiting = sum(c.n for c in queue_counts)
        entries.append(
            (f"Approvals ({waiting})" if waiting else "Approvals", reverse("approvals:queue"))
        )
    if policies.can_view_agent_records(user):  # the roles that work campaigns
        from monitoring.models import UNRESOLVED, Escalation

        unresolved = Escalation.objects.filter(
            status__in=UNRESOLVED, campaign__brand_id__in=policies.visible_brand_ids(user)
        ).count()
        entries.append(
            (
                f"Escalations ({unresolved})" if unresolved else "Escalations",
                reverse("monitoring:escalations"),
            )
        )
    entries.append(("Briefs", reverse("campaigns:brief_list")))
    if policies.can_write_briefs(user):
        entries.append(("New brief", reverse("campaigns:brief_create")))
    if policies.can_view_agent_records(user):
        entries.append(("Agents", reverse("agents:index")))
    entries.append(("Brand memory", reverse("memory:index")))
    if policies.can_manage_contacts_somewhere(user):
        entries.append(("Contacts", reverse("crm:index")))
    if policies.is_admin(user):
        entries.append(("Policies", reverse("approvals:policies")))
    if policies.can_configure_monitoring(user):
        entries.append(("Webhooks", reverse("webhooks:list")))
    if policies.can_use_admin_site(user):
        entries.append(("Administration", reverse("admin:index")))
    path = request.path
    # The most specific matching entry is the active one ("/" only matches itself).
    best = max(
        (url for _, url in entries if path == url or (url != "/" and path.startswith(url))),
        key=len,
        default="",
    )
    from governance.models import AuditChainHead
    from monitoring.selectors import unread_count

    # Where the audit chain stood when this page was rendered: the live socket asks for a
    # resync if anything happened between rendering and connecting.
    head = AuditChainHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    return {
        "live_since": head,
        "nav_items": [
            NavItem(label, url, url == best, "approvals" if label.startswith("Approvals") else "")
            for label, url in entries
        ],
        "nav_roles": sorted(role.value for role in policies.roles_of(user)),
        "queue_counts": queue_counts,
        "unread_notifications": unread_count(user.pk),
    }
