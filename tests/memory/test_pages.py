"""The brand memory and claims registry pages over HTTP: who sees and does what, and bad
input that changes nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.domain.audit import Actor
from governance.domain.roles import Role
from governance.models import AuditEvent
from memory.models import Claim, MemoryEntry
from memory.services import memory_entry_create
from tests.factories import UserFactory

from .builders import add, approved, propose

pytestmark = pytest.mark.django_db


def url(name, brand, *args):
    return reverse(f"memory:{name}", args=[brand.slug, *args])


def test_every_page_requires_login(client, brand_a):
    for address in [reverse("memory:index"), url("brand", brand_a), url("claims", brand_a)]:
        response = client.get(address)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_index_lists_only_the_brands_the_user_sees(login, legal_a, admin_user, brand_b):
    page = login(legal_a).get(reverse("memory:index")).content.decode()
    assert "Brand A" in page and "Brand B" not in page
    page = login(admin_user).get(reverse("memory:index")).content.decode()
    assert "Brand A" in page and "Brand B" in page


class TestMemoryPages:
    def test_the_brand_page_groups_facts_with_ref_evidence_and_last_author(
        self, login, brand_a, manager, campaign_a
    ):
        rule = add(brand_a, manager, text="Warm, <b>never</b> snobbish.")
        angle = memory_entry_create(
            brand_id=brand_a.pk,
            kind="working_angle",
            text="Lead with freshness",
            evidence={"lift_pct": 18.4, "sample_size": 12400, "campaign_id": campaign_a.pk},
            actor=Actor.for_agent("learning"),
            authorization="policy decision #9",
        )
        response = login(manager).get(url("brand", brand_a))
        page = response.content.decode()
        assert response.status_code == 200
        assert [g.label for g in response.context["groups"]][:2] == [
            "Voice rule",
            "Audience segment",
        ]
        assert rule.ref in page and angle.ref in page
        assert "Warm, &lt;b&gt;never&lt;/b&gt; snobbish." in page  # escaped, never trusted
        assert "+18.4% lift, n=12,400" in page
        assert "agent learning" in page and "Add a fact" in page

    def test_other_brands_do_not_exist_for_the_user(self, login, legal_a, brand_b, manager):
        entry = add(brand_b, manager)
        client = login(legal_a)
        for address in [
            url("brand", brand_b),
            url("entry", brand_b, entry.pk),
            url("claims", brand_b),
            url("entry_create", brand_b),
        ]:
            assert client.get(address).status_code == 404, address
        assert client.post(url("entry_retire", brand_b, entry.pk), {"note": "x"}).status_code == 404

    def test_legal_reads_memory_but_cannot_change_it(self, login, legal_a, brand_a, manager):
        entry = add(brand_a, manager)
        client = login(legal_a)
        page = client.get(url("entry", brand_a, entry.pk)).content.decode()
        assert entry.text in page and "Save new version" not in page and "Add a fact" not in page
        assert client.get(url("entry_create", brand_a)).status_code == 403
        response = client.post(
            url("entry_edit", brand_a, entry.pk), {"text": "Legal's edit", "note": "Mine now"}
        )
        assert response.status_code == 403
        assert MemoryEntry.objects.get().version == 1

    def test_adding_a_fact_with_bad_input_changes_nothing(self, login, manager, brand_a):
        response = login(manager).post(
            url("entry_create", brand_a),
            {"kind": "working_angle", "text": "Lead with freshness", "lift_pct": "12"},
        )
        assert response.status_code == 422
        form = response.context["form"]
        assert form.errors["sample_size"] == [
            "A lift means little without its sample size: give both, or neither."
        ]
        assert "Nothing was saved" in response.content.decode()
        assert MemoryEntry.objects.count() == 0 and AuditEvent.objects.count() == 0

    def test_adding_a_fact(self, login, manager, brand_a, campaign_a):
        response = login(manager).post(
            url("entry_create", brand_a),
            {
                "kind": "working_angle",
                "text": "Lead with freshness",
                "lift_pct": "18.4",
                "sample_size": "12400",
                "campaign": campaign_a.pk,
                "link": "https://reports.example.com/ab/41",
                "note": "From the autumn test",
            },
        )
        entry = MemoryEntry.objects.get()
        assert response.status_code == 302
        assert response["Location"] == url("entry", brand_a, entry.pk)
        assert entry.evidence == {
            "lift_pct": 18.4,
            "sample_size": 12400,
            "campaign_id": campaign_a.pk,
            "link": "https://reports.example.com/ab/41",
        }
        assert entry.versions.get().change_note == "From the autumn test"

    def test_editing_writes_a_version_shown_in_the_history(self, login, manager, brand_a):
        entry = add(brand_a, manager, text="Warm.", note="First")
        client = login(manager)
        response = client.post(
            url("entry_edit", brand_a, entry.pk),
            {"text": "Warm and plain.", "note": "Plainer", "version": "1"},
        )
        assert response.status_code == 302
        page = client.get(url("entry", brand_a, entry.pk)).content.decode()
        assert "Plainer" in page and "First" in page and "Warm and plain." in page
        assert "version-2" in page and "version-1" in page

        stale = client.post(
            url("entry_edit", brand_a, entry.pk),
            {"text": "Warm, again.", "note": "Old tab", "version": "1"},
        )
        assert stale.status_code == 422
        assert "changed since this edit began" in stale.content.decode()
        assert MemoryEntry.objects.get().text == "Warm and plain."

    def test_retiring_needs_a_reason(self, login, manager, brand_a):
        entry = add(brand_a, manager)
        client = login(manager)
        response = client.post(url("entry_retire", brand_a, entry.pk), {"note": ""})
        assert response.status_code == 422 and MemoryEntry.objects.get().status == "active"
        response = client.post(
            url("entry_retire", brand_a, entry.pk), {"note": "No longer true", "version": "1"}
        )
        assert response.status_code == 302 and MemoryEntry.objects.get().status == "retired"
        assert entry.text not in client.get(url("brand", brand_a)).content.decode()
        shown = client.get(url("brand", brand_a) + "?show=retired").content.decode()
        assert entry.text in shown


def today():
    return timezone.localdate()


class TestClaimsPages:
    def test_the_registry_shows_status_expiry_and_who(self, login, legal_a, manager, brand_a):
        live = approved(
            brand_a,
            manager,
            legal_a,
            days=200,
            today=today(),
            variants=["Roasted when you order"],
            disclaimers=["Within 2 business days."],
            jurisdictions=["US", "CA"],
        )
        soon = approved(brand_a, manager, legal_a, "Free shipping", days=5, today=today())
        gone = approved(brand_a, manager, legal_a, "Small batch", days=5, today=today())
        Claim.objects.filter(pk=gone.pk).update(expires_on=today())
        pending = propose(brand_a, manager, legal_a, "At your door in 48 hours", today=today())

        response = login(legal_a).get(url("claims", brand_a))
        page = response.content.decode()
        assert response.status_code == 200
        for claim in (live, soon, gone, pending):
            assert f"claim-{claim.pk}" in page
        assert "Roasted when you order" in page and "Within 2 business days." in page
        assert "US, CA" in page
        assert "Expires in 5 days" in page
        assert "Expired: unapproved" in page
        assert "Pending legal review" in page
        rows = {r["claim"].pk: r for r in response.context["rows"]}
        assert rows[pending.pk]["can_review"] and not rows[live.pk]["can_review"]
        assert (rows[gone.pk]["row"].expiry, rows[soon.pk]["row"].expiry) == ("expired", "soon")

    def test_proposing_with_bad_input_changes_nothing(self, login, manager, brand_a, legal_a):
        response = login(manager).post(
            url("claim_create", brand_a),
            {
                "wording": "Roasted to order",
                "substantiation": "Roastery logs for 2024",
                "jurisdictions": "USA",
                "expires_on": (today() - timedelta(days=1)).isoformat(),
                "legal_owner": legal_a.pk,
            },
        )
        assert response.status_code == 422
        errors = response.context["form"].errors
        assert set(errors) == {"jurisdictions", "expires_on"}
        assert Claim.objects.count() == 0 and AuditEvent.objects.count() == 0

    def test_only_the_brands_legal_reviewers_can_own_a_claim(
        self, login, manager, brand_a, legal_a, legal_b
    ):
        client = login(manager)
        form = client.get(url("claim_create", brand_a)).context["form"]
        assert list(form.fields["legal_owner"].queryset) == [legal_a]
        response = client.post(
            url("claim_create", brand_a),
            {
                "wording": "Roasted to order",
                "substantiation": "Roastery logs for 2024",
                "jurisdictions": "us, ca",
                "expires_on": (today() + timedelta(days=90)).isoformat(),
                "legal_owner": legal_b.pk,
            },
        )
        assert response.status_code == 422 and Claim.objects.count() == 0

    def test_proposing_a_claim(self, login, manager, brand_a, legal_a):
        response = login(manager).post(
            url("claim_create", brand_a),
            {
                "wording": "Roasted to order",
                "variants": "Roasted when you order\nFreshly roasted to order",
                "substantiation": "Roastery logs for 2024",
                "disclaimers": "Within 2 business days.",
                "jurisdictions": "us, ca",
                "expires_on": (today() + timedelta(days=90)).isoformat(),
                "legal_owner": legal_a.pk,
            },
        )
        assert response.status_code == 302
        claim = Claim.objects.get()
        assert (claim.status, claim.proposed_by, claim.jurisdictions) == (
            "pending",
            manager,
            ["US", "CA"],
        )
        assert claim.variants == ["Roasted when you order", "Freshly roasted to order"]

    def test_legal_reviews_in_place_with_htmx(self, login, manager, legal_a, brand_a):
        claim = propose(brand_a, manager, legal_a, today=today())
        client = login(legal_a)
        address = url("claim_review", brand_a, claim.pk)
        refused = client.post(address, {"verdict": "reject"}, HTTP_HX_REQUEST="true")
        assert refused.status_code == 422
        assert "a reason is required" in refused.content.decode()
        assert Claim.objects.get().status == "pending"

        response = client.post(address, {"verdict": "approve"}, HTTP_HX_REQUEST="true")
        fragment = response.content.decode()
        assert response.status_code == 200
        assert fragment.lstrip().startswith(f'<tr id="claim-{claim.pk}"')
        assert "Approved" in fragment and "<html" not in fragment
        assert Claim.objects.get().status == "approved"

    def test_people_who_may_not_review_are_refused(self, login, manager, legal_a, legal_b, brand_a):
        claim = propose(brand_a, manager, legal_a, today=today())
        address = url("claim_review", brand_a, claim.pk)
        assert login(manager).post(address, {"verdict": "approve"}).status_code == 403
        assert login(legal_b).post(address, {"verdict": "approve"}).status_code == 404
        assert Claim.objects.get().status == "pending"

    def test_the_proposer_sees_no_review_controls_and_is_refused(self, login, legal_a, brand_a):
        counsel = UserFactory(username="counsel", role=Role.ADMIN)
        counsel.groups.add(*legal_a.groups.all())
        claim = propose(brand_a, counsel, legal_a, today=today())
        client = login(counsel)
        rows = client.get(url("claims", brand_a)).context["rows"]
        assert not rows[0]["can_review"]
        response = client.post(url("claim_review", brand_a, claim.pk), {"verdict": "approve"})
        assert response.status_code == 403 and Claim.objects.get().status == "pending"

    def test_renewing_starts_from_the_claim(self, login, manager, legal_a, brand_a):
        claim = approved(
            brand_a, manager, legal_a, days=10, today=today(), disclaimers=["US only."]
        )
        client = login(manager)
        form = client.get(url("claim_create", brand_a) + f"?renews={claim.pk}").context["form"]
        assert form.initial["wording"] == "Roasted to order"
        assert form.initial["disclaimers"] == ["US only."]
        assert client.get(url("claim_create", brand_a) + "?renews=abc").status_code == 404

    def test_withdrawing_a_claim(self, login, manager, legal_a, brand_a):
        claim = approved(brand_a, manager, legal_a, today=today())
        client = login(manager)
        response = client.post(url("claim_retire", brand_a, claim.pk), {"note": ""})
        assert response.status_code == 302 and Claim.objects.get().status == "approved"
        response = client.post(url("claim_retire", brand_a, claim.pk), {"note": "Study withdrawn"})
        assert response.status_code == 302 and Claim.objects.get().status == "retired"
