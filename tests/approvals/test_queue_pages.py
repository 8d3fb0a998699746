"""The approval queue pages over HTTP: who sees which items, deciding, editing, bulk."""

import pytest
from django.urls import reverse

from approvals.models import ApprovalRequest
from approvals.services import action_propose
from campaigns.models import Campaign, ContentVariant
from governance.domain.audit import Actor

pytestmark = pytest.mark.django_db
QUEUE = reverse("approvals:queue")
COPY = {
    "channel": "social_ads",
    "headline": "Clinically proven sleep",
    "body": "Sleep better tonight.",
    "claims": ["Clinically proven"],
}


def propose(campaign, action="publish_content", payload=None, **kwargs):
    return action_propose(
        campaign_id=campaign.pk,
        action=action,
        payload=payload or COPY,
        actor=Actor.for_agent("content"),
        summary=kwargs.pop("summary", "New ad"),
        claims=kwargs.pop("claims", payload.get("claims", []) if payload else COPY["claims"]),
        **kwargs,
    ).approval


def decide_url(approval):
    return reverse("approvals:decide", args=[approval.pk])


def test_each_role_sees_its_own_queue_for_its_own_brands(
    login, manager, legal_a, campaign_a, campaign_b
):
    legal_item = propose(campaign_a)  # unapproved claim: legal
    launch_item = propose(
        campaign_a, "launch_campaign", {"reason": "Ready"}, claims=[], summary="Launch A"
    )
    other_brand = propose(campaign_b)
    legal_page = login(legal_a).get(QUEUE)
    ids = [r["approval"].pk for r in legal_page.context["rows"]]
    assert ids == [legal_item.pk]
    body = legal_page.content.decode()
    assert "Why it is here" in body and "“Clinically proven”" in body
    assert "claims.unapproved" in body and "Clinically proven sleep" in body
    manager_ids = [r["approval"].pk for r in login(manager).get(QUEUE).context["rows"]]
    assert manager_ids == [launch_item.pk]  # legal items are not in the manager's queue
    assert other_brand.queue_role == "Legal Reviewer"


def test_approving_from_the_card_executes_the_content(login, legal_a, campaign_a):
    item = propose(campaign_a)
    response = login(legal_a).post(decide_url(item), {"verdict": "approve"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<article id="approval-{item.pk}"')
    assert "Approved" in response.content.decode()
    variant = ContentVariant.objects.get()
    assert (variant.headline, variant.status) == ("Clinically proven sleep", "approved")


def test_edit_then_approve_publishes_the_edited_copy(login, legal_a, campaign_a):
    item = propose(campaign_a)
    login(legal_a).post(
        decide_url(item),
        {
            "verdict": "edit_approve",
            "edit-headline": "Sleep better, measured nightly",
            "edit-body": "Track your sleep stages.",
        },
    )
    variant = ContentVariant.objects.get()
    assert variant.headline == "Sleep better, measured nightly"
    assert variant.body == "Track your sleep stages."


def test_rejecting_without_a_reason_is_refused_and_changes_nothing(login, legal_a, campaign_a):
    item = propose(campaign_a)
    response = login(legal_a).post(
        decide_url(item), {"verdict": "reject", "note": ""}, HTTP_HX_REQUEST="true"
    )
    # Answered in the card (htmx swaps a 200, not a 4xx), next to the reason field.
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith(
        f'<article id="approval-{item.pk}"'
    )
    error = body[body.index(f'id="note-{item.pk}-error"') :]
    assert error.split(">", 1)[1].startswith("Say why you reject it: a reason is required.")
    assert f'aria-describedby="note-{item.pk}-error"' in body and 'aria-invalid="true"' in body
    assert ApprovalRequest.objects.get().status == "pending"
    login(legal_a).post(decide_url(item), {"verdict": "reject", "note": "Unsupported claim"})
    assert ApprovalRequest.objects.get().status == "rejected"
    assert ContentVariant.objects.count() == 0


def test_deciding_twice_says_it_is_already_decided(login, legal_a, campaign_a):
    item = propose(campaign_a)
    client = login(legal_a)
    client.post(decide_url(item), {"verdict": "approve"})
    again = client.post(decide_url(item), {"verdict": "approve"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 200 and "already approved by legal-a" in again.content.decode()
    assert 'role="alert"' in again.content.decode()
    assert ContentVariant.objects.count() == 1


def test_other_queues_are_403_and_other_brands_404(login, manager, legal_a, campaign_a, campaign_b):
    legal_item = propose(campaign_a)
    assert login(manager).post(decide_url(legal_item), {"verdict": "approve"}).status_code == 403
    other = propose(campaign_b)
    assert login(legal_a).post(decide_url(other), {"verdict": "approve"}).status_code == 404
    assert ApprovalRequest.objects.filter(status="pending").count() == 2


def test_bad_verdicts_and_bad_edits_get_a_clear_message(login, manager, campaign_a):
    item = propose(
        campaign_a,
        "change_budget",
        {"new_total": "20000", "reason": "Scale"},
        claims=[],
        amount=10000,
    )
    client = login(manager)
    odd = client.post(decide_url(item), {"verdict": "maybe"}, HTTP_HX_REQUEST="true")
    assert "Choose approve, reject, ask for changes or edit then approve." in odd.content.decode()
    bad = client.post(
        decide_url(item),
        {"verdict": "edit_approve", "edit-new_total": "a lot"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 200 and "needs “new_total”, a number" in bad.content.decode()
    assert 'value="a lot"' in bad.content.decode()  # what was typed stays, to correct it
    assert Campaign.objects.get(pk=campaign_a.pk).budget_total == 10000
    assert ApprovalRequest.objects.get().status == "pending"


def test_the_navigation_counts_what_waits(login, manager, campaign_a):
    propose(campaign_a, "launch_campaign", {"reason": "Go"}, claims=[])
    labels = [i.label for i in login(manager).get(reverse("tower")).context["nav_items"]]
    assert "Approvals (1)" in labels


def test_a_revision_shows_what_changed_since_the_previous_version(login, legal_a, campaign_a):
    first = propose(campaign_a)
    login(legal_a).post(
        decide_url(first), {"verdict": "changes", "note": "Drop the clinical claim"}
    )
    revised = {**COPY, "headline": "Sleep better, measured nightly", "claims": ["Measured nightly"]}
    second = propose(campaign_a, payload=revised, claims=revised["claims"])
    page = login(legal_a).get(QUEUE, {"item": second.pk}).content.decode()
    card = page[page.index(f'id="approval-{second.pk}"') :]
    assert "Since the previous version" in card and "changes requested" in card
    assert "<del>Clinically proven sleep</del>" in card
    assert "<ins>Sleep better, measured nightly</ins>" in card
