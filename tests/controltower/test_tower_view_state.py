"""The tower's view lives in its URL; its columns sort by what they show; its attention
strip, rows and navigation count the same things and say which."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from approvals.models import ApprovalRequest
from campaigns.domain.phases import Phase
from campaigns.models import Campaign, SlaStatus
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
URL = reverse("tower")


def campaign(brand, owner, name, *, consumed="0", total="1000", **fields):
    c = CampaignFactory(brief__brand=brand, brief__created_by=owner, name=name)
    Campaign.objects.filter(pk=c.pk).update(
        budget_consumed=Decimal(consumed), budget_total=Decimal(total), **fields
    )
    return c


def pending(c, role="Marketing Manager", n=1):
    for _ in range(n):
        ApprovalRequest.objects.create(
            campaign=c,
            brand=c.brand,
            action_type="launch",
            queue_role=role,
            summary="Launch",
            requested_by_agent="distribution",
        )


def names(response):
    return [row.campaign.name for row in response.context["rows"]]


def shown_percentages(html):
    return [int(p) for p in re.findall(r'<div class="small">(\d+)% used</div>', html)]


def strip(html, key):
    return int(re.search(rf'data-summary="{key}">(\d+)<', html).group(1))


@pytest.fixture
def tower(manager, brand_a, brand_b):
    return {
        "a_exec": campaign(brand_a, manager, "Autumn Roast", phase=Phase.EXECUTION),
        "a_brief": campaign(
            brand_a, manager, "Cold Brew", phase=Phase.BRIEFING, sla_status=SlaStatus.AT_RISK
        ),
        "b_exec": campaign(brand_b, manager, "Sleep Push", phase=Phase.EXECUTION),
        "b_esc": campaign(brand_b, manager, "Wellness Trial", phase=Phase.ESCALATED),
    }


# --- The URL is the view ---------------------------------------------------------------


def test_opening_a_filtered_address_renders_that_view_and_its_strip(login, manager, tower):
    pending(tower["a_exec"], n=2)
    pending(tower["b_exec"], n=3)
    response = login(manager).get(URL + "?brand=brand-a&phase=execution")
    html = response.content.decode()
    assert names(response) == ["Autumn Roast"]
    # The controls show the view the address names.
    assert '<option value="brand-a" selected>' in html
    assert '<option value="execution" selected>' in html
    # The strip counts brand A only (every phase of it), and says so.
    assert "Needs attention in Brand A" in html and "(every phase and owner)" in html
    assert strip(html, "awaiting-approval") == 2
    assert strip(html, "at-risk") == 1
    assert strip(html, "escalated") == 0  # brand B's escalation is not in view
    # Its links open exactly the campaigns it counted.
    assert 'href="?brand=brand-a&amp;attention=1"' in html


def test_a_filter_change_answers_the_fragment_and_varies_on_htmx(login, manager, tower):
    client = login(manager)
    fragment = client.get(
        URL + "?phase=execution", headers={"HX-Request": "true", "HX-Target": "tower-content"}
    )
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="tower-content"')
    assert sorted(names(fragment)) == ["Autumn Roast", "Sleep Push"]
    # The resync of this fragment asks for the same view; the sort rides with the filters.
    assert 'hx-get="/?phase=execution"' in html
    # Back (htmx's history restore) gets the whole page, never the cached fragment.
    assert {"HX-Request", "HX-Target"} <= {v.strip() for v in fragment.headers["Vary"].split(",")}
    restore = client.get(
        URL + "?phase=execution",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert b'<div id="tower-live" hx-history-elt>' in restore.content
    assert b'<option value="execution" selected>' in restore.content


def test_the_sort_in_force_rides_with_the_filter_form(login, manager, tower):
    html = login(manager).get(URL + "?sort=budget").content.decode()
    assert '<input type="hidden" name="sort" value="budget" form="tower-filters">' in html
    assert 'hx-push-url="true"' in html
    # The headers and pager swap the rows in place and push their address too.
    assert 'id="sort-budget" hx-get="/?sort=-budget"' in html


def test_pages_link_to_their_own_address(login, manager, brand_a, settings):
    settings.CONTROLTOWER_TOWER_PAGE_SIZE = 2
    for i in range(5):
        campaign(brand_a, manager, f"Campaign {i}")
    client = login(manager)
    html = client.get(URL + "?brand=brand-a&page=2").content.decode()
    assert 'href="/?brand=brand-a&amp;page=3"' in html
    assert 'href="/?brand=brand-a" id="page-prev"' in html
    assert len(client.get(URL + "?brand=brand-a&page=3").context["rows"]) == 1


# --- Sort by what the column shows -----------------------------------------------------


def test_budget_sorts_by_the_share_shown_both_ways(login, manager, brand_a):
    # Amounts and shares disagree on purpose: 240 of 1,000 is more than 90 of 10,000.
    campaign(brand_a, manager, "Twenty-four", consumed="240", total="1000")
    campaign(brand_a, manager, "Zero", consumed="0", total="500")
    campaign(brand_a, manager, "Sixteen", consumed="1600", total="10000")
    campaign(brand_a, manager, "Sixty-one", consumed="61", total="100")
    campaign(brand_a, manager, "Nine", consumed="90", total="1000")
    client = login(manager)
    up = client.get(URL + "?sort=budget").content.decode()
    assert shown_percentages(up) == [0, 9, 16, 24, 61]
    assert 'aria-sort="ascending"><a href="/?sort=-budget"' in up
    down = client.get(URL + "?sort=-budget").content.decode()
    assert shown_percentages(down) == [61, 24, 16, 9, 0]
    assert 'aria-sort="descending"' in down


def test_ties_fall_back_to_the_name_the_same_way_every_time(login, manager, brand_a):
    for name in ["charlie", "Alpha", "bravo"]:
        campaign(brand_a, manager, name, consumed="100", total="1000")
    client = login(manager)
    assert names(client.get(URL + "?sort=budget")) == ["Alpha", "bravo", "charlie"]
    assert names(client.get(URL + "?sort=-budget")) == ["Alpha", "bravo", "charlie"]
    # Names read case aside, as people read them.
    assert names(client.get(URL + "?sort=name")) == ["Alpha", "bravo", "charlie"]
    assert names(client.get(URL + "?sort=-name")) == ["charlie", "bravo", "Alpha"]


def test_approvals_and_sla_sort_by_what_they_show(login, manager, tower):
    pending(tower["b_exec"], n=3)
    pending(tower["a_brief"], n=1)
    client = login(manager)
    by_approvals = client.get(URL + "?sort=-approvals")
    assert [r.pending_approvals for r in by_approvals.context["rows"]] == [3, 1, 0, 0]
    assert names(by_approvals)[2:] == ["Autumn Roast", "Wellness Trial"]
    assert names(client.get(URL + "?sort=-sla"))[0] == "Cold Brew"


# --- Counts agree ----------------------------------------------------------------------


def test_strip_rows_and_navigation_count_the_same_things(login, manager, tower):
    pending(tower["a_exec"], n=2)
    pending(tower["b_exec"], n=1)
    pending(tower["b_esc"], role="Legal Reviewer", n=4)  # someone else's queue
    client = login(manager)

    everything = client.get(URL)
    html = everything.content.decode()
    rows = everything.context["rows"]
    # Every approval request pending on the campaigns in view: the rows add up to it.
    assert strip(html, "awaiting-approval") == sum(r.pending_approvals for r in rows) == 7
    # The part of them waiting in this manager's queue: the navigation's number.
    assert strip(html, "your-queue") == 3
    assert "Approvals (3)" in html
    assert "approval requests pending" in html and "in your queue" in html
    assert strip(html, "escalated") == sum(r.campaign.phase == Phase.ESCALATED for r in rows)
    assert strip(html, "at-risk") == sum(r.campaign.sla_status == SlaStatus.AT_RISK for r in rows)

    brand_b = client.get(URL + "?brand=brand-b")
    html = brand_b.content.decode()
    rows = brand_b.context["rows"]
    assert strip(html, "awaiting-approval") == sum(r.pending_approvals for r in rows) == 5
    assert strip(html, "your-queue") == 1  # brand B's part of "Approvals (3)"
    assert strip(html, "escalated") == 1
    # Every brand's live counts stay on the page (updates land), only brand B's are summed.
    summary = brand_b.context["summary"]
    assert [s.brand_id for s in summary.counted] == [tower["b_exec"].brand_id]
    assert f'id="brand-summary-{tower["a_exec"].brand_id}"' in html


def test_a_brand_one_may_not_see_counts_nothing(login, legal_a, tower):
    pending(tower["b_exec"], n=3)
    response = login(legal_a).get(URL + "?brand=brand-b")
    html = response.content.decode()
    assert names(response) == []
    assert strip(html, "awaiting-approval") == 0
