"""Approving from Slack or email: a new request tells its reviewers with signed,
single-use, expiring links; following one shows the queue card and decides only on
confirmation, as the right person, exactly once."""

import json
import re
import threading
import time
from datetime import timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import signing
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from approvals import selectors
from approvals.domain.decisions import content_hash
from approvals.domain.links import LinkExpired, LinkNotYours, LinkTampered, LinkUsed
from approvals.models import ApprovalLinkUse, ApprovalRequest
from approvals.services import action_propose, approval_link_use, review_delegate
from governance.domain.audit import Actor
from governance.domain.roles import Role
from governance.models import AuditEvent
from governance.policies import ASSIGNMENT_PERMISSION, approval_refusal, approval_reviewers
from monitoring.models import MonitoringSettings, Notification, NotificationDelivery
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
PLANNER = Actor.for_agent("planner")
WEBHOOK = "https://hooks.example.invalid/services/T0/B0/x"
LINK_LINE = re.compile(r"^(Approve|Reject)[^:\n]*: (\S+)$", re.MULTILINE)


def launch(campaign, **kwargs):
    """A launch an agent proposes: held for the brand's managers (legal with a claim)."""
    return action_propose(
        campaign_id=campaign.pk,
        action="launch_campaign",
        payload={"reason": "Creative approved by QA; audience ready"},
        actor=kwargs.pop("actor", PLANNER),
        summary="Launch the campaign",
        **kwargs,
    ).approval


def links_in(text):
    """{"approve": path, "reject": path} from a message's body."""
    found = {verb.lower(): url for verb, url in LINK_LINE.findall(text)}
    for url in found.values():
        assert url.startswith(settings.CONTROLTOWER_BASE_URL.rstrip("/") + "/approvals/link/")
    return {verb: urlsplit(url).path for verb, url in found.items()}


def token_of(path):
    return path.rstrip("/").rsplit("/", 1)[1]


def links_for(user):
    return links_in(Notification.objects.get(recipient=user).body)


def slack_links():
    delivery = NotificationDelivery.objects.get(channel="slack")
    return links_in(json.loads(delivery.body)["text"])


def decisions():
    return AuditEvent.objects.filter(
        action__in=["approval.approved", "approval.rejected", "approval.changes_requested"]
    )


def assert_nothing_decided(approval):
    approval.refresh_from_db()
    assert approval.status == "pending" and approval.decided_by is None
    assert not ApprovalLinkUse.objects.exists()
    assert not decisions().exists()


@pytest.fixture
def manager_2(brand_a):
    """A second manager of brand A: could decide from the queue."""
    return UserFactory(username="manager-2", role=Role.MANAGER, brands=[brand_a])


@pytest.fixture
def manager_b(brand_b):
    """A manager of brand B only: brand A's requests do not exist for them."""
    return UserFactory(username="manager-b", role=Role.MANAGER, brands=[brand_b])


# --- Who is told, and how ---------------------------------------------------------------


def test_a_new_request_tells_each_reviewer_with_their_own_links_and_posts_once(
    brand_a, campaign_a, manager, manager_2, manager_b, legal_a, admin_user
):
    MonitoringSettings.objects.create(brand=brand_a, slack_webhook_url=WEBHOOK)
    approval = launch(campaign_a)

    notes = Notification.objects.order_by("recipient__username")
    assert [n.recipient for n in notes] == [manager, manager_2]  # not legal, admin, brand B
    for note, person in zip(notes, [manager, manager_2], strict=True):
        assert note.title == "Waiting for you: Launch the campaign"
        assert note.campaign == campaign_a and note.url == reverse("approvals:queue")
        found = links_in(note.body)
        assert set(found) == {"approve", "reject"}
        for verb, path in found.items():
            linked = selectors.approval_link_read(token_of(path))
            assert (linked.approval, linked.decision, linked.reviewer_id) == (
                approval,
                verb,
                person.pk,
            )
    emails = NotificationDelivery.objects.filter(channel="email").order_by("id")
    assert [e.target for e in emails] == [manager.email, manager_2.email]
    for email, person in zip(emails, [manager, manager_2], strict=True):
        assert email.subject == "Waiting for you: Launch the campaign"
        assert links_in(email.body) == links_for(person)  # the same links, in the email
    # One post to the brand's webhook, with links for whichever reviewer follows them.
    slack = NotificationDelivery.objects.get(channel="slack")
    assert slack.target == WEBHOOK and slack.status == "pending"
    for verb, path in slack_links().items():
        linked = selectors.approval_link_read(token_of(path))
        assert (linked.decision, linked.reviewer_id) == (verb, None)
    # Every link is its own: four personal ones and two shared, six nonces.
    tokens = [*links_for(manager).values(), *links_for(manager_2).values()]
    tokens += list(slack_links().values())
    assert len({selectors.approval_link_read(token_of(t)).nonce for t in tokens}) == 6


def test_no_webhook_no_post(campaign_a, manager):
    launch(campaign_a)
    assert Notification.objects.filter(recipient=manager).count() == 1
    assert not NotificationDelivery.objects.filter(channel="slack").exists()


def test_the_legal_queue_tells_legal_reviewers(campaign_a, manager, legal_a):
    approval = launch(campaign_a, claims=["Clinically proven"])
    assert approval.queue_role == Role.LEGAL.value
    assert [n.recipient for n in Notification.objects.all()] == [legal_a]


def test_the_reviewers_are_exactly_the_people_who_may_decide(
    brand_a, brand_b, campaign_a, manager, manager_2, manager_b, legal_a, admin_user
):
    """approval_reviewers and approval_refusal agree, both ways, over every kind of person."""
    team = Group.objects.create(name="brand-a-team")
    assign_perm(ASSIGNMENT_PERMISSION, team, brand_a)
    via_group = UserFactory(username="via-group", role=Role.MANAGER)
    via_group.groups.add(team)
    inactive = UserFactory(username="inactive", role=Role.MANAGER, brands=[brand_a])
    inactive.is_active = False
    inactive.save()
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    admin_manager = UserFactory(username="admin-manager", role=Role.ADMIN)
    admin_manager.groups.add(Group.objects.get_or_create(name=Role.MANAGER.value)[0])
    delegate = UserFactory(username="delegate", role=Role.LEGAL, brands=[brand_b])
    now = timezone.now()
    review_delegate(
        reviewer=manager_2,
        delegate=delegate,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    past_delegate = UserFactory(username="past-delegate", role=Role.LEGAL)
    review_delegate(
        reviewer=manager_2,
        delegate=past_delegate,
        starts_at=now - timedelta(days=5),
        ends_at=now - timedelta(days=4),
    )
    everyone = [
        manager,
        manager_2,
        manager_b,
        legal_a,
        admin_user,
        via_group,
        inactive,
        superuser,
        admin_manager,
        delegate,
        past_delegate,
    ]
    agent_request = launch(campaign_a)
    legal_request = launch(campaign_a, claims=["Clinically proven"])
    escalated = launch(campaign_a)
    ApprovalRequest.objects.filter(pk=escalated.pk).update(
        escalated_at=now, escalated_to=Role.ADMIN.value
    )
    escalated.refresh_from_db()
    # A person's launch is not held by the agent policy: raised directly (set-up state).
    own_request = ApprovalRequest.objects.create(
        campaign=campaign_a,
        brand=brand_a,
        action_type="launch_campaign",
        queue_role=Role.MANAGER.value,
        summary="Launch it",
        requested_by_agent="",
        requested_by_user=manager,
        payload={"reason": "Ready"},
        content_hash=content_hash({"reason": "Ready"}),
    )
    for approval in (agent_request, own_request, legal_request, escalated):
        reviewers = approval_reviewers(approval)
        fresh = [type(p).objects.get(pk=p.pk) for p in everyone]  # no cached roles
        may = [p for p in fresh if approval_refusal(p, approval) is None]
        assert [p.pk for p in reviewers] == sorted(
            (p.pk for p in may), key=lambda pk: next(x.username for x in fresh if x.pk == pk)
        )
        for reviewer in reviewers:
            assert approval_refusal(reviewer, approval) is None
    names = [p.username for p in approval_reviewers(agent_request)]
    # manager-2's delegate is assigned to brand B only: a delegation opens no brand.
    assert names == ["admin-manager", "manager", "manager-2", "via-group"]
    assert "manager" not in [p.username for p in approval_reviewers(own_request)]
    assert [p.username for p in approval_reviewers(legal_request)] == ["legal-a"]
    assert {"admin", "root"} <= {p.username for p in approval_reviewers(escalated)}


# --- Following a link ---------------------------------------------------------------------


def test_get_shows_the_card_and_decides_nothing_post_decides(login, campaign_a, manager):
    approval = launch(campaign_a)
    path = links_for(manager)["approve"]
    client = login(manager)
    for _ in range(2):  # a mail scanner prefetching, then the person: still nothing
        page = client.get(path)
        assert page.status_code == 200
        body = page.content.decode()
        assert f'id="approval-{approval.pk}"' in body and "Why it is here" in body
        assert "Agents need approval to launch campaign." in body  # the card's evidence
        assert "Confirm: approve" in body
    assert_nothing_decided(approval)

    done = client.post(path)
    assert done.status_code == 200
    assert "Approved" in done.content.decode() and "Confirm:" not in done.content.decode()
    approval.refresh_from_db()
    assert approval.status == "approved" and approval.decided_by == manager
    assert approval.executed_at is not None
    use = ApprovalLinkUse.objects.get()
    assert (use.approval, use.used_by, use.decision) == (approval, manager, "approve")
    event = decisions().get()
    assert event.action == "approval.approved" and event.actor_user == manager


def test_a_link_used_twice_decides_once(login, campaign_a, manager):
    approval = launch(campaign_a)
    path = links_for(manager)["approve"]
    client = login(manager)
    assert client.post(path).status_code == 200
    approval.refresh_from_db()
    decided_at = approval.decided_at

    again = client.post(path)
    assert again.status_code == 410
    assert "This link was already used: manager approved the request" in again.content.decode()
    assert client.get(path).status_code == 410  # and following it again says so too
    approval.refresh_from_db()
    assert approval.status == "approved" and approval.decided_at == decided_at
    assert ApprovalLinkUse.objects.count() == 1
    assert decisions().count() == 1
    assert AuditEvent.objects.filter(action="campaign.phase_changed").count() == 1
    with pytest.raises(LinkUsed, match="already used"):
        approval_link_use(token=token_of(path), user=manager)


def test_the_other_link_is_told_who_decided(login, brand_a, campaign_a, manager, manager_2):
    MonitoringSettings.objects.create(brand=brand_a, slack_webhook_url=WEBHOOK)
    approval = launch(campaign_a)
    assert login(manager).post(links_for(manager)["approve"]).status_code == 200
    # manager-2's own reject link, and the shared one: the request is decided already.
    for path in (links_for(manager_2)["reject"], slack_links()["reject"]):
        late = login(manager_2).post(path, {"note": "Not this week"})
        assert late.status_code == 409
        assert "This request was already approved by manager." in late.content.decode()
        page = login(manager_2).get(path)
        assert page.status_code == 200 and "already approved by manager" in page.content.decode()
        assert "Confirm:" not in page.content.decode()
    approval.refresh_from_db()
    assert approval.status == "approved" and approval.decided_by == manager
    assert ApprovalLinkUse.objects.count() == 1 and decisions().count() == 1


def test_a_request_decided_in_the_queue_is_not_decided_again_by_a_link(login, campaign_a, manager):
    approval = launch(campaign_a)
    client = login(manager)
    client.post(reverse("approvals:decide", args=[approval.pk]), {"verdict": "approve"})
    response = client.post(links_for(manager)["reject"], {"note": "Changed my mind"})
    assert response.status_code == 409
    assert "already approved by manager" in response.content.decode()
    assert decisions().count() == 1 and not ApprovalLinkUse.objects.exists()


def test_an_expired_link_is_refused_and_changes_nothing(login, campaign_a, manager):
    old = int(time.time()) - 49 * 3600
    with mock.patch.object(
        signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(old)
    ):
        approval = launch(campaign_a)
    path = links_for(manager)["approve"]
    client = login(manager)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 410
        assert "This link has expired: links work for 48 hours." in response.content.decode()
    assert_nothing_decided(approval)
    with override_settings(CONTROLTOWER_APPROVAL_LINK_HOURS=72):  # the setting decides
        assert client.get(path).status_code == 200
    with pytest.raises(LinkExpired):
        approval_link_use(token=token_of(path), user=manager)


def test_a_tampered_link_is_refused_and_changes_nothing(login, campaign_a, manager):
    approval = launch(campaign_a)
    token = token_of(links_for(manager)["reject"])
    payload, rest = token.split(":", 1)
    data = json.loads(signing.b64_decode(payload.encode()))
    data["d"] = "approve"  # turn a reject link into an approve link
    forged = signing.b64_encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    other_salt = signing.dumps(data, salt="something.else")
    client = login(manager)
    for bad in (f"{forged}:{rest}", token[:-2] + "xx", other_salt, "not-a-token"):
        path = reverse("approvals:link", args=[bad])
        for response in (client.get(path), client.post(path)):
            assert response.status_code == 400
            assert "This link is not valid" in response.content.decode()
    assert_nothing_decided(approval)
    with pytest.raises(LinkTampered):
        selectors.approval_link_read(f"{forged}:{rest}")


def test_a_link_for_reviewer_a_is_refused_to_reviewer_b(login, campaign_a, manager, manager_2):
    approval = launch(campaign_a)
    path = links_for(manager)["approve"]
    assert approval_refusal(manager_2, approval) is None  # B could decide from the queue
    client = login(manager_2)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 403
        assert "This link was sent to another reviewer" in response.content.decode()
    assert_nothing_decided(approval)
    with pytest.raises(LinkNotYours):
        approval_link_use(token=token_of(path), user=manager_2)


def test_a_legal_reviewer_cannot_use_a_manager_queue_link(login, brand_a, campaign_a, legal_a):
    MonitoringSettings.objects.create(brand=brand_a, slack_webhook_url=WEBHOOK)
    approval = launch(campaign_a)
    path = slack_links()["approve"]  # the shared link: bound to no one
    client = login(legal_a)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 403
        assert "in the Marketing Manager queue, and you are not a Marketing Manager" in (
            response.content.decode()
        )
    assert_nothing_decided(approval)


def test_a_shared_link_works_for_an_eligible_reviewer(login, brand_a, campaign_a, manager_2):
    MonitoringSettings.objects.create(brand=brand_a, slack_webhook_url=WEBHOOK)
    approval = launch(campaign_a)
    response = login(manager_2).post(slack_links()["reject"], {"note": "Audience not ready"})
    assert response.status_code == 200
    approval.refresh_from_db()
    assert approval.status == "rejected" and approval.decided_by == manager_2
    assert approval.decision_note == "Audience not ready"


def test_a_request_of_a_brand_they_cannot_see_does_not_exist(
    login, brand_a, campaign_a, manager, manager_b
):
    MonitoringSettings.objects.create(brand=brand_a, slack_webhook_url=WEBHOOK)
    approval = launch(campaign_a)
    path = slack_links()["approve"]
    client = login(manager_b)
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404
    assert_nothing_decided(approval)
    login(manager).post(path)  # used now: who used it is not told to brand B either
    assert login(manager_b).get(path).status_code == 404


def test_reject_needs_a_reason_and_the_link_stays_usable(login, campaign_a, manager):
    approval = launch(campaign_a)
    path = links_for(manager)["reject"]
    client = login(manager)
    page = client.get(path)
    assert "Confirm: reject" in page.content.decode() and "Reason" in page.content.decode()
    refused = client.post(path, {"note": "  "})
    assert refused.status_code == 422
    assert "Say why you reject it: a reason is required." in refused.content.decode()
    assert "Confirm: reject" in refused.content.decode()  # the form again
    assert_nothing_decided(approval)

    assert client.post(path, {"note": "Audience not ready"}).status_code == 200
    approval.refresh_from_db()
    assert approval.status == "rejected" and approval.decision_note == "Audience not ready"
    assert decisions().get().action == "approval.rejected"
    assert AuditEvent.objects.filter(action="campaign.phase_changed").count() == 0


def test_logging_in_brings_the_reviewer_back_to_the_link(client, campaign_a, manager):
    approval = launch(campaign_a)
    path = links_for(manager)["approve"]
    anonymous = client.get(path)
    assert anonymous.status_code == 302
    login_url = anonymous["Location"]
    assert login_url.startswith(reverse("login") + "?next=")
    form = client.get(login_url)
    next_value = form.context["next"]
    assert next_value == path
    logged_in = client.post(
        reverse("login"), {"username": "manager", "password": PASSWORD, "next": next_value}
    )
    assert logged_in.status_code == 302 and logged_in["Location"] == path
    assert client.get(path).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.post(path).status_code == 302  # a logged-out POST decides nothing
    assert_nothing_decided(approval)


@pytest.mark.django_db(transaction=True)
def test_the_same_link_used_at_once_on_two_connections_decides_once(campaign_a, manager):
    approval = launch(campaign_a)
    token = token_of(links_for(manager)["approve"])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def use():
        try:
            barrier.wait(timeout=10)
            approval_link_use(token=token, user=manager)
            outcomes.append("won")
        except LinkUsed as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=use) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(outcomes) == 2 and outcomes.count("won") == 1
    assert next(o for o in outcomes if o != "won").startswith("This link was already used")
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "approved"
    assert ApprovalLinkUse.objects.count() == 1 and decisions().count() == 1
    assert AuditEvent.objects.filter(action="campaign.phase_changed").count() == 1


def test_deciding_reads_every_reviewers_waiting_notice(brand_a, campaign_a, manager, manager_2):
    from approvals.services import approval_decide

    approval = launch(campaign_a)
    other = launch(campaign_a)
    waiting = Notification.objects.filter(approval=approval)
    assert {n.recipient for n in waiting} == {manager, manager_2}
    assert all(n.read_at is None for n in waiting)
    approval_decide(approval_id=approval.pk, user=manager, approve=True)
    # Nothing waits for manager_2 either: the notice is settled for both …
    assert all(n.read_at is not None for n in Notification.objects.filter(approval=approval))
    # … and only for that request.
    assert all(n.read_at is None for n in Notification.objects.filter(approval=other))
