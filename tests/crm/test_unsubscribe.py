"""The way out of campaign email: every message the email connector sends (through a real
SMTP server, aiosmtpd on 127.0.0.1) carries its contact's signed unsubscribe link, in the
footer and in the RFC 8058 headers; following it (the confirm page, or a mail provider's
one-click POST) unsubscribes, once, audited; the next send skips the person; a changed
link is refused and changes nothing."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from agents.connectors import content_key
from agents.connectors.email import EmailConnector
from crm import services
from crm.domain.privacy import masked_email
from crm.models import Contact, Subscription
from governance.models import AuditEvent
from tests.factories import CampaignFactory
from tests.integrations import test_email_and_exports as email_tests

pytestmark = pytest.mark.django_db

# The real SMTP server and the audience (Ann and Bob mailable, one suppressed, one
# unsubscribed, one of brand B) of the email connector's own tests.
smtp = email_tests.smtp
audience = email_tests.audience
email_variant = email_tests.email_variant

BASE_URL = "https://tower.example"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.CONTROLTOWER_BASE_URL = BASE_URL + "/"


def send(campaign, **variant):
    content = email_variant(campaign, **variant)
    EmailConnector(campaign=campaign).publish(
        key=content_key(content.pk), channel="email", headline=content.headline, body=content.body
    )
    return content


def next_campaign(campaign):
    """The brand's next campaign (a second email of the same campaign would be the
    other arm of an A/B split, which people who got the first never receive)."""
    return CampaignFactory(
        brief__brand=campaign.brand, brief__created_by=campaign.owner, name="Spring beans"
    )


def received(inbox, email):
    """The last message the SMTP server got for ``email``."""
    return [m for m in inbox.messages() if m["To"] == email][-1]


def header_link(message):
    value = " ".join(message["List-Unsubscribe"].split())
    assert value.startswith("<") and value.endswith(">"), value
    return value[1:-1]


def footer_link(message):
    body = message.get_payload(decode=True).decode()
    (line,) = [line for line in body.splitlines() if line.startswith("Unsubscribe: ")]
    return line.removeprefix("Unsubscribe: ")


def path_of(url):
    assert url.startswith(BASE_URL + "/contacts/unsubscribe/"), url
    return urlsplit(url).path


def unsubscribe_events():
    return AuditEvent.objects.filter(action="contacts.unsubscribed")


def csrf_client():
    """A browser as strict as production: the CSRF check is not waived as in tests."""
    return Client(enforce_csrf_checks=True)


def confirm(client, path):
    """What a person does: open the link, then press the button."""
    page = client.get(path)
    assert page.status_code == 200
    assert 'id="unsubscribe-confirm"' in page.content.decode()
    return client.post(path, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})


# --- In the message -----------------------------------------------------------------------


def test_each_message_carries_its_contacts_link_in_headers_and_footer(smtp, audience, campaign_a):
    send(campaign_a, body="Three bags, one grinder.")

    assert smtp.recipients == ["ann@example.com", "bob@example.com"]
    links = {}
    for message in smtp.messages():
        link = header_link(message)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert footer_link(message) == link
        body = message.get_payload(decode=True).decode().replace("\r\n", "\n")  # SMTP: CRLF
        assert body == f"Three bags, one grinder.\n\nUnsubscribe: {link}\n"
        links[message["To"]] = link
    # Each person's own link, absolute, naming them and their brand (and not their address).
    ann, bob = audience["ann"], audience["bob"]
    assert links["ann@example.com"] != links["bob@example.com"]
    for contact in (ann, bob):
        link = links[contact.email]
        assert link == services.contact_unsubscribe_url(
            contact_id=contact.pk, brand_id=campaign_a.brand_id
        )
        assert "example.com" not in path_of(link)
        token = path_of(link).split("/")[-2]
        assert services.contact_unsubscribe_link_read(token) == contact


def test_the_link_does_not_expire(smtp, audience, campaign_a, monkeypatch):
    send(campaign_a)
    path = path_of(header_link(received(smtp, "ann@example.com")))
    later = time.time() + 60 * 60 * 24 * 365 * 5  # five years on
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = csrf_client().post(path, ONE_CLICK)
    assert response.status_code == 200
    assert Contact.objects.get(pk=audience["ann"].pk).subscription == Subscription.UNSUBSCRIBED


# --- Following it ----------------------------------------------------------------------------


def test_opening_the_link_then_confirming_unsubscribes_and_the_next_send_skips_them(
    smtp, audience, campaign_a
):
    send(campaign_a)
    ann = audience["ann"]
    path = path_of(footer_link(received(smtp, ann.email)))
    client = csrf_client()

    page = client.get(path)
    text = page.content.decode()
    assert page.status_code == 200
    assert "a***@example.com" in text and ann.email not in text
    assert "Brand A" in text and "Log out" not in text  # anonymous: no app chrome
    assert page["Cache-Control"].startswith("max-age=0")
    # GET never unsubscribes: mail scanners prefetch links.
    ann.refresh_from_db()
    assert ann.subscription == Subscription.SUBSCRIBED and not unsubscribe_events().exists()

    response = client.post(path, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 200
    assert "is unsubscribed" in response.content.decode()
    assert ann.email not in response.content.decode()
    ann.refresh_from_db()
    assert ann.subscription == Subscription.UNSUBSCRIBED
    (event,) = unsubscribe_events()
    assert (event.object_type, event.object_id, event.brand_id) == (
        "crm.contact",
        str(ann.pk),
        campaign_a.brand_id,
    )
    assert event.actor_label == "system:unsubscribe-link" and event.actor_user_id is None
    assert event.data == {"via": "link"}  # no address in the audit trail

    # The next campaign email goes to everyone mailable but her.
    before = len(smtp.envelopes)
    send(next_campaign(campaign_a), headline="Spring beans")
    assert sorted(r for e in smtp.envelopes[before:] for r in e.rcpt_tos) == ["bob@example.com"]
    # Bob is still subscribed.
    assert Contact.objects.get(pk=audience["bob"].pk).subscription == Subscription.SUBSCRIBED


def test_one_click_post_unsubscribes_without_a_csrf_token(smtp, audience, campaign_a):
    send(campaign_a)
    bob = audience["bob"]
    path = path_of(header_link(received(smtp, bob.email)))

    # As a mail provider sends it (RFC 8058): no cookies, no CSRF token, just this body.
    response = csrf_client().post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    bob.refresh_from_db()
    assert bob.subscription == Subscription.UNSUBSCRIBED
    (event,) = unsubscribe_events()
    assert event.data == {"via": "one_click"} and event.object_id == str(bob.pk)

    before = len(smtp.envelopes)
    send(next_campaign(campaign_a), headline="Spring beans")
    assert sorted(r for e in smtp.envelopes[before:] for r in e.rcpt_tos) == ["ann@example.com"]


def test_the_confirm_button_still_needs_its_csrf_token(smtp, audience, campaign_a):
    send(campaign_a)
    ann = audience["ann"]
    path = path_of(footer_link(received(smtp, ann.email)))
    # Only the one-click body is exempt; any other POST without a token is refused.
    response = csrf_client().post(path, {"List-Unsubscribe": "please"})
    assert response.status_code == 403
    ann.refresh_from_db()
    assert ann.subscription == Subscription.SUBSCRIBED and not unsubscribe_events().exists()


def test_a_repeat_is_idempotent(smtp, audience, campaign_a):
    send(campaign_a)
    ann = audience["ann"]
    path = path_of(header_link(received(smtp, ann.email)))
    client = csrf_client()
    assert client.post(path, ONE_CLICK).status_code == 200
    ann.refresh_from_db()
    updated_at = ann.updated_at

    # Again by one click, and by the page: "already", nothing written, one audit event.
    again = client.post(path, ONE_CLICK)
    assert again.status_code == 200 and "already unsubscribed" in again.content.decode()
    page = client.get(path).content.decode()
    assert "already unsubscribed" in page and 'id="unsubscribe-confirm"' not in page
    response = client.post(path, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 200 and "already unsubscribed" in response.content.decode()
    ann.refresh_from_db()
    assert ann.subscription == Subscription.UNSUBSCRIBED and ann.updated_at == updated_at
    assert unsubscribe_events().count() == 1
    assert services.contact_unsubscribe(contact_id=ann.pk, via="link") is False
    assert unsubscribe_events().count() == 1


def test_an_already_unsubscribed_contact_is_told_so(audience):
    uns = audience["uns"]
    url = services.contact_unsubscribe_url(contact_id=uns.pk, brand_id=uns.brand_id)
    response = csrf_client().post(path_of(url), ONE_CLICK)
    assert response.status_code == 200 and "already unsubscribed" in response.content.decode()
    assert not unsubscribe_events().exists()


def test_a_suppressed_contact_can_unsubscribe_too(audience):
    sup = audience["sup"]
    url = services.contact_unsubscribe_url(contact_id=sup.pk, brand_id=sup.brand_id)
    assert csrf_client().post(path_of(url), ONE_CLICK).status_code == 200
    sup.refresh_from_db()
    assert sup.subscription == Subscription.UNSUBSCRIBED and sup.suppressed


# --- Refused links -------------------------------------------------------------------------


def tampered(token):
    """The same token with one character of its payload changed."""
    i = 2
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


def test_a_tampered_link_is_refused_and_changes_nothing(smtp, audience, campaign_a):
    send(campaign_a)
    ann, bob = audience["ann"], audience["bob"]
    token = path_of(header_link(received(smtp, ann.email))).split("/")[-2]
    payload, _, signature = token.partition(":")
    # Another contact's id under Ann's signature; the signature cut short; no signature;
    # one character changed; a value we signed for something else (another salt).
    forged = signing.Signer(salt=services.UNSUBSCRIBE_SALT).sign_object(
        {"c": bob.pk, "b": campaign_a.brand_id}
    )
    candidates = [
        forged.partition(":")[0] + ":" + signature,
        token[:-4],
        payload,
        tampered(token),
        signing.Signer(salt="approvals.link").sign_object({"c": ann.pk, "b": ann.brand_id}),
    ]
    client = csrf_client()
    for bad in candidates:
        path = reverse("crm:unsubscribe", args=[bad])
        for response in (client.get(path), client.post(path, ONE_CLICK)):
            assert response.status_code == 400, bad
            text = response.content.decode()
            assert "This unsubscribe link is not valid" in text
            assert 'id="unsubscribe-confirm"' not in text
    assert (
        not Contact.objects.filter(subscription=Subscription.UNSUBSCRIBED)
        .exclude(pk=audience["uns"].pk)
        .exists()
    )
    assert not unsubscribe_events().exists()


def test_a_link_for_a_contact_that_no_longer_exists_is_404(audience, brand_a, brand_b):
    ann = audience["ann"]
    unknown = services.contact_unsubscribe_url(contact_id=10**9, brand_id=brand_a.pk)
    other_brand = services.contact_unsubscribe_url(contact_id=ann.pk, brand_id=brand_b.pk)
    client = csrf_client()
    for url in (unknown, other_brand):
        for response in (client.get(path_of(url)), client.post(path_of(url), ONE_CLICK)):
            assert response.status_code == 404
            assert "nothing to unsubscribe" in response.content.decode()
    ann.refresh_from_db()
    assert ann.subscription == Subscription.SUBSCRIBED and not unsubscribe_events().exists()


def test_other_methods_are_not_allowed(audience):
    ann = audience["ann"]
    path = path_of(services.contact_unsubscribe_url(contact_id=ann.pk, brand_id=ann.brand_id))
    assert csrf_client().put(path).status_code == 405
    assert csrf_client().delete(path).status_code == 405


def test_the_service_refuses_an_unknown_channel(audience):
    with pytest.raises(ValueError, match="Unknown unsubscribe channel"):
        services.contact_unsubscribe(contact_id=audience["ann"].pk, via="sms")
    assert not unsubscribe_events().exists()


@pytest.mark.parametrize(
    ("email", "shown"),
    [
        ("mia@example.com", "m***@example.com"),
        ("m@example.com", "m***@example.com"),
        ("first.last+tag@mail.example.org", "f***@mail.example.org"),
        ("not-an-address", "***"),
    ],
)
def test_addresses_are_masked(email, shown):
    assert masked_email(email) == shown
