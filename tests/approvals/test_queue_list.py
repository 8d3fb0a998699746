"""The queue as a list you can work through, over HTTP: filters in the URL, the detail
pane (``?item=ID``), bulk approval of low-risk items with per-item results, the diff only
against the previous version of the same draft, and refusals answered in the card."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from approvals.domain.decisions import content_hash
from approvals.domain.policy import is_low_risk
from approvals.models import ApprovalRequest
from approvals.selectors import previous_versions
from approvals.services import action_propose, approval_decide, approvals_decide_many
from governance.domain.audit import Actor
from governance.domain.roles import Role
from tests.factories import CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db
QUEUE = reverse("approvals:queue")
BULK = reverse("approvals:bulk_approve")


def propose(campaign, action="launch_campaign", payload=None, summary="Launch", **kwargs):
    return action_propose(
        campaign_id=campaign.pk,
        action=action,
        payload=payload or {"reason": "Ready"},
        actor=Actor.for_agent("content"),
        summary=summary,
        **kwargs,
    ).approval


def pause(campaign, n, *, queue_role="Marketing Manager", due_in=timedelta(minutes=30)):
    """A pause waiting for a manager (the default policy lets agents pause alone)."""
    payload = {"reason": f"CPA spike {n}"}
    item = ApprovalRequest.objects.create(
        campaign=campaign,
        brand=campaign.brand,
        action_type="pause",
        queue_role=queue_role,
        summary=f"Pause {campaign.name} {n}",
        requested_by_agent="performance",
        payload=payload,
        content_hash=content_hash(payload),
    )
    ApprovalRequest.objects.filter(pk=item.pk).update(due_at=item.created_at + due_in)
    item.refresh_from_db()
    return item


def row_ids(response):
    return [r["approval"].pk for r in response.context["rows"]]


# --- The list and its filters ---------------------------------------------------------


def test_the_list_is_sorted_by_time_left_and_shows_a_row_per_item(login, manager, campaign_a):
    launch = propose(campaign_a)  # four hours to answer
    urgent = pause(campaign_a, 1, due_in=timedelta(minutes=5))
    later = pause(campaign_a, 2, due_in=timedelta(hours=9))
    response = login(manager).get(QUEUE)
    assert row_ids(response) == [urgent.pk, launch.pk, later.pk]
    body = response.content.decode()
    row = body[body.index(f'id="queue-row-{urgent.pk}"') :]
    row = row[: row.index("</li>")]
    assert "Pause" in row and "A campaign · Brand A" in row and "min left" in row
    assert "Low risk" in row and 'name="ids"' in row  # tickable for bulk approval
    launch_row = body[body.index(f'id="queue-row-{launch.pk}"') :]
    assert 'name="ids"' not in launch_row[: launch_row.index("</li>")]
    # No item chosen: the pane shows the most urgent one, the list stays on a phone.
    assert response.context["card"]["approval"].pk == urgent.pk
    assert 'data-view="list"' in body


def test_filters_live_in_the_url(login, manager, campaign_a, campaign_b):
    a_launch = propose(campaign_a)
    a_pause = pause(campaign_a, 1)
    b_launch = propose(campaign_b)
    client = login(manager)
    assert row_ids(client.get(QUEUE, {"brand": "brand-b"})) == [b_launch.pk]
    assert row_ids(client.get(QUEUE, {"brand": "brand-a", "kind": "pause"})) == [a_pause.pk]
    assert row_ids(client.get(QUEUE, {"campaign": campaign_a.pk, "kind": "launch_campaign"})) == [
        a_launch.pk
    ]
    page = client.get(QUEUE, {"brand": "brand-a", "kind": "pause"}).content.decode()
    assert '<option value="brand-a" selected>Brand A (2)</option>' in page
    # The rows link to the same view with the item, so a link opens the same thing.
    assert f'href="/approvals/?brand=brand-a&amp;kind=pause&amp;item={a_pause.pk}"' in page


def test_a_bad_filter_says_so_and_shows_everything(login, manager, campaign_a):
    launch = propose(campaign_a)
    response = login(manager).get(QUEUE, {"brand": "nope", "kind": "telepathy"})
    assert response.status_code == 200 and row_ids(response) == [launch.pk]
    body = response.content.decode()
    assert "No brand “nope” in your queues: showing all." in body
    assert "No kind “telepathy” in your queues: showing all." in body


def test_a_brand_the_user_cannot_see_is_not_a_filter(login, legal_a, campaign_a, campaign_b):
    response = login(legal_a).get(QUEUE, {"brand": "brand-b"})
    assert "No brand “brand-b” in your queues" in response.content.decode()


def test_claimed_by_me_or_by_nobody(login, manager, campaign_a):
    mine = propose(campaign_a, summary="Mine")
    free = propose(campaign_a, summary="Free")
    client = login(manager)
    client.post(reverse("approvals:claim", args=[mine.pk]), {"action": "claim"})
    assert row_ids(client.get(QUEUE, {"holder": "mine"})) == [mine.pk]
    assert row_ids(client.get(QUEUE, {"holder": "free"})) == [free.pk]


def test_changing_a_filter_returns_the_list_and_the_address_to_push(login, manager, campaign_a):
    pause(campaign_a, 1)
    response = login(manager).get(
        QUEUE,
        {"brand": "brand-a", "campaign": "", "kind": "pause", "holder": "", "item": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="queue-list",
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="queue-list"')
    assert response["HX-Push-Url"] == "/approvals/?brand=brand-a&kind=pause"


# --- The detail pane --------------------------------------------------------------------


def test_the_pane_opens_the_item_named_in_the_url(login, manager, campaign_a):
    first = propose(campaign_a, summary="First")
    second = propose(campaign_a, summary="Second")
    client = login(manager)
    page = client.get(QUEUE, {"item": second.pk})
    assert page.context["card"]["approval"].pk == second.pk
    body = page.content.decode()
    assert 'data-view="item"' in body  # on a phone, the item replaces the list
    assert "Back to the queue" in body
    assert f'id="approval-{first.pk}"' not in body  # one card: the one chosen
    pane = client.get(
        QUEUE, {"item": first.pk}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="approval-pane"
    ).content.decode()
    assert pane.lstrip().startswith('<section id="approval-pane"')
    assert f'id="approval-{first.pk}"' in pane and "queue-row" not in pane


def test_an_item_the_user_cannot_see_is_not_shown(login, legal_a, campaign_b):
    other = propose(campaign_b)
    response = login(legal_a).get(QUEUE, {"item": other.pk})
    assert response.status_code == 200 and response.context["card"] is None
    assert "not one you can see" in response.content.decode()


def test_after_a_decision_the_card_offers_the_next_item(login, manager, campaign_a):
    first = pause(campaign_a, 1, due_in=timedelta(minutes=5))
    second = pause(campaign_a, 2, due_in=timedelta(minutes=9))
    response = login(manager).post(
        reverse("approvals:decide", args=[first.pk]),
        {"verdict": "approve", "view": "kind=pause", "in_list": "1"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert "Approved" in body and f"?kind=pause&amp;item={second.pk}" in body
    # ... and its row in the list follows, out of band.
    assert f'<li id="queue-row-{first.pk}" class="queue-row status-approved' in body
    assert 'hx-swap-oob="true"' in body


# --- Bulk approval ------------------------------------------------------------------------


def test_low_risk_is_defined_once():
    assert is_low_risk("pause", queue_role="Marketing Manager")
    assert is_low_risk("suppress_contacts", queue_role="Admin", rule="x.needs_approval")
    assert not is_low_risk("pause", queue_role="Legal Reviewer")  # claims: legal, one by one
    assert not is_low_risk("pause", queue_role="Marketing Manager", rule="pause.max_amount")
    assert not is_low_risk("pause", queue_role="Marketing Manager", amount=Decimal("5"))
    assert not is_low_risk("publish_content", queue_role="Marketing Manager")
    assert not is_low_risk("no_such_kind", queue_role="Marketing Manager")


def test_bulk_approve_reports_each_item(login, manager, campaign_a, campaign_b):
    # A pause per campaign: approving one pauses its campaign.
    ok_1 = pause(campaign_a, 1)
    ok_2, taken = (
        pause(CampaignFactory(brief__brand=campaign_a.brand, name=name), n)
        for n, name in ((2, "Second"), (3, "Third"))
    )
    launch = propose(campaign_a)
    other_manager = UserFactory(role=Role.MANAGER, brands=[campaign_a.brand])
    approval_decide(approval_id=taken.pk, user=other_manager, approve=True)  # meanwhile
    hidden = pause(CampaignFactory(), 4)  # a brand the manager does not see
    response = login(manager).post(
        BULK,
        {"ids": [ok_1.pk, ok_2.pk, taken.pk, launch.pk, hidden.pk], "view": "brand=brand-a"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="queue-list"')
    assert "Approved:</strong> Pause A campaign 1" in body
    assert "Approved:</strong> Pause Second 2" in body
    assert "Not approved:</strong> Pause Third 3 — This request was already approved by" in body
    assert "Not approved:</strong> Launch — Not low-risk" in body
    assert f"Not approved:</strong> #{hidden.pk} — Not found." in body
    statuses = dict(ApprovalRequest.objects.values_list("pk", "status"))
    assert statuses[ok_1.pk] == statuses[ok_2.pk] == "approved"
    assert statuses[launch.pk] == statuses[hidden.pk] == "pending"


def test_bulk_approve_never_decides_what_the_user_may_not(manager, legal_a, campaign_a):
    item = pause(campaign_a, 1)  # the manager's queue: a legal reviewer may not decide it
    [result] = approvals_decide_many(approval_ids=[item.pk], user=legal_a)
    assert not result.ok and "Marketing Manager" in result.message
    assert ApprovalRequest.objects.get(pk=item.pk).status == "pending"


def test_bulk_approve_without_htmx_comes_back_with_messages(login, manager, campaign_a):
    item = pause(campaign_a, 1)
    client = login(manager)
    nothing = client.post(BULK, {"view": "kind=pause"})
    assert nothing.status_code == 302 and nothing["Location"] == "/approvals/?kind=pause"
    done = client.post(BULK, {"ids": [item.pk]}, follow=True).content.decode()
    assert "Approved 1 of 1: Pause A campaign 1" in done


# --- "Since the previous version" ---------------------------------------------------------


def content(channel, headline):
    return {"channel": channel, "headline": headline, "body": "B", "claims": []}


def test_the_diff_compares_only_versions_of_the_same_draft(login, manager, campaign_a):
    email = propose(campaign_a, "publish_content", content("email", "Hello"), "Email")
    approval_decide(approval_id=email.pk, user=manager, approve=False, request_changes=True,
                    note="Warmer")  # fmt: skip
    landing = propose(campaign_a, "publish_content", content("landing_page", "Hi"), "Landing")
    # The failing example: the landing page is no version of the email.
    assert previous_versions([landing]) == {}
    page = login(manager).get(QUEUE, {"item": landing.pk}).content.decode()
    assert "Since the previous version" not in page and "landing_page" in page
    revised = propose(campaign_a, "publish_content", content("email", "Hello there"), "Email 2")
    assert previous_versions([revised, landing]) == {revised.pk: email}
    page = login(manager).get(QUEUE, {"item": revised.pk}).content.decode()
    assert "Since the previous version" in page and "<ins>there</ins>" in page
    assert "channel:" not in page  # same channel: nothing to say about it


def test_a_sibling_still_waiting_is_no_previous_version(campaign_a):
    first = propose(campaign_a, "publish_content", content("email", "A"), "Email A")
    second = propose(campaign_a, "publish_content", content("email", "B"), "Email B")
    assert previous_versions([first, second]) == {}


def test_decisions_refused_are_said_in_the_card_and_change_nothing(login, manager, campaign_a):
    item = propose(campaign_a)
    other = UserFactory(role=Role.MANAGER, brands=[campaign_a.brand])
    login(other).post(reverse("approvals:claim", args=[item.pk]), {"action": "claim"})
    response = login(manager).post(
        reverse("approvals:decide", args=[item.pk]), {"verdict": "approve"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'class="form-errors" role="alert"' in response.content.decode()
    assert ApprovalRequest.objects.get(pk=item.pk).status == "pending"
    claim = login(manager).post(
        reverse("approvals:claim", args=[item.pk]), {"action": "claim"}, HTTP_HX_REQUEST="true"
    )
    assert claim.status_code == 200 and 'role="alert"' in claim.content.decode()
