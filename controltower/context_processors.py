"""What the navigation shows each person: only the pages their role may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from approvals import policies


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_roles": []}
    entries = [("Control tower", reverse("tower"))]
    if policies.is_manager(user) or policies.is_legal_reviewer(user):
        from approvals.selectors import queue_count

        waiting = queue_count(user)
        entries.append(
            (f"Approvals ({waiting})" if waiting else "Approvals", reverse("approvals:queue"))
        )
    entries.append(("Briefs", reverse("campaigns:brief_list")))
    if policies.can_write_briefs(user):
        entries.append(("New brief", reverse("campaigns:brief_create")))
    if policies.can_use_admin_site(user):
        entries.append(("Administration", reverse("admin:index")))
    path = request.path
    # The most specific matching entry is the active one ("/" only matches itself).
    best = max(
        (url for _, url in entries if path == url or (url != "/" and path.startswith(url))),
        key=len,
        default="",
    )
    return {
        "nav_items": [NavItem(label, url, url == best) for label, url in entries],
        "nav_roles": sorted(role.value for role in policies.roles_of(user)),
    }
