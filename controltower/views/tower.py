"""The control tower page: every campaign the user may see, one row each, kept live."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from campaigns.domain.phases import Phase
from campaigns.selectors import brands_for_user
from governance import policies

from .. import selectors


def tower(request: HttpRequest) -> HttpResponse:
    filters = selectors.TowerFilters.from_query(request.GET)
    campaign_ids = selectors.tower_campaign_ids(request.user, filters)
    page = Paginator(campaign_ids, settings.CONTROLTOWER_TOWER_PAGE_SIZE).get_page(filters.page)
    context = {
        "filters": filters,
        "columns": selectors.tower_columns(filters),
        "page": page,
        "rows": selectors.tower_rows(page.object_list),
        "prev_query": filters.query(page=page.previous_page_number())
        if page.has_previous()
        else "",
        "next_query": filters.query(page=page.next_page_number()) if page.has_next() else "",
        "summary": selectors.tower_summary(request.user, filters),
        "brands": brands_for_user(request.user),
        "owners": selectors.tower_owners(request.user),
        "phases": list(Phase),
        # Managers and admins may bring in telemetry from platforms not connected here.
        "can_upload_telemetry": policies.can_write_briefs(request.user),
        "can_export_audit": policies.is_admin(request.user),
    }
    template = "controltower/tower.html"
    if request.htmx and request.htmx.target == "tower-content":
        # A filter, a sort or a page chosen (the address bar follows: static/js/tower.js),
        # or a resync after reconnecting. Back and Forward fetch the whole page again.
        template += "#tower-content"
    response = render(request, template, context)
    # One address, two answers (the page, its fragment): a browser must never show the
    # fragment it cached when Back or a reload asks for the page.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def topnav(request: HttpRequest) -> HttpResponse:
    """The navigation alone (with its approval counts), for a live page to resync."""
    return render(request, "base.html#topnav")
