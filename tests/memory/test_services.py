"""Writes to brand memory and the claims registry: versioned, audited, permitted only to
the right people, and all-or-nothing."""

from datetime import timedelta

import pytest

from governance.domain.audit import Actor
from governance.domain.errors import DomainError, NotPermitted
from governance.domain.roles import Role
from governance.models import AuditEvent
from memory.models import Claim, MemoryEntry, MemoryVersion
from memory.services import (
    ClaimInvalid,
    MemoryInvalid,
    StaleVersion,
    claim_retire,
    claim_review,
    memory_entry_create,
    memory_entry_retire,
    memory_entry_revise,
)
from tests.factories import UserFactory

from .builders import TODAY, add, approved, propose

pytestmark = pytest.mark.django_db


def actions():
    return list(AuditEvent.objects.values_list("action", flat=True))


class TestEntries:
    def test_an_edit_makes_a_new_version_and_keeps_the_old(self, brand_a, manager):
        entry = add(brand_a, manager, text="Warm, never snobbish.", note="From the brand book")
        assert (entry.ref, entry.version, entry.status) == (f"M{entry.pk}", 1, "active")

        entry = memory_entry_revise(
            brand_id=brand_a.pk,
            entry_id=entry.pk,
            text="Warm and plain-spoken, never snobbish.",
            note="Plain-spoken matters more",
            expected_version=1,
            actor=Actor.for_user(manager),
        )
        assert (entry.version, entry.text) == (2, "Warm and plain-spoken, never snobbish.")
        history = list(
            entry.versions.order_by("number").values_list("number", "text", "change_note")
        )
        assert history == [
            (1, "Warm, never snobbish.", "From the brand book"),
            (2, "Warm and plain-spoken, never snobbish.", "Plain-spoken matters more"),
        ]
        assert {v.changed_by_user_id for v in entry.versions.all()} == {manager.pk}

        entry = memory_entry_retire(
            brand_id=brand_a.pk,
            entry_id=entry.pk,
            note="Replaced by M99",
            actor=Actor.for_user(manager),
        )
        assert (entry.status, entry.version) == ("retired", 3)
        assert MemoryVersion.objects.get(entry=entry, number=3).status == "retired"
        assert actions() == ["memory.entry_created", "memory.entry_revised", "memory.entry_retired"]
        event = AuditEvent.objects.get(action="memory.entry_revised")
        assert event.brand_id == brand_a.pk and event.actor_user_id == manager.pk
        assert event.data["version"] == 2 and event.data["ref"] == entry.ref

        with pytest.raises(DomainError, match="is retired; add a new entry instead"):
            memory_entry_revise(
                brand_id=brand_a.pk,
                entry_id=entry.pk,
                text="Again",
                note="Again and again",
                actor=Actor.for_user(manager),
            )

    def test_bad_input_is_refused_with_every_problem_and_nothing_written(self, brand_a, manager):
        with pytest.raises(MemoryInvalid) as refused:
            add(brand_a, manager, kind="working_angle", text="ab", evidence={"lift_pct": 5})
        assert set(refused.value.errors) == {"text", "sample_size"}
        assert MemoryEntry.objects.count() == 0 and actions() == []

    def test_a_fact_already_in_memory_is_not_added_twice(self, brand_a, brand_b, manager):
        first = add(brand_a, manager, text="Never snobbish.")
        with pytest.raises(MemoryInvalid, match=f"already in the brand's memory as {first.ref}"):
            add(brand_a, manager, text="  never   SNOBBISH ")
        add(brand_b, manager, text="Never snobbish.")  # another brand's memory is its own
        add(brand_a, manager, kind="failure_mode", text="Never snobbish.")  # another kind
        assert MemoryEntry.objects.count() == 3

    def test_an_edit_to_a_version_someone_changed_since_is_refused(self, brand_a, manager):
        entry = add(brand_a, manager)
        memory_entry_revise(
            brand_id=brand_a.pk,
            entry_id=entry.pk,
            text="Warm.",
            note="Shorter",
            expected_version=1,
            actor=Actor.for_user(manager),
        )
        with pytest.raises(StaleVersion, match="now version 2, the edit was made to version 1"):
            memory_entry_revise(
                brand_id=brand_a.pk,
                entry_id=entry.pk,
                text="Warm!!",
                note="Mine",
                expected_version=1,
                actor=Actor.for_user(manager),
            )
        assert MemoryEntry.objects.get().text == "Warm."

    def test_an_edit_needs_a_note_and_a_change(self, brand_a, manager):
        entry = add(brand_a, manager)
        for text, note, message in [
            ("Cold.", "", "a change note is required"),
            (entry.text, "No-op edit", "Nothing changed"),
        ]:
            with pytest.raises(MemoryInvalid, match=message):
                memory_entry_revise(
                    brand_id=brand_a.pk,
                    entry_id=entry.pk,
                    text=text,
                    note=note,
                    actor=Actor.for_user(manager),
                )
        assert MemoryEntry.objects.get().version == 1

    def test_who_may_edit(self, brand_a, brand_b, manager, legal_a, admin_user, manager_b):
        add(brand_a, admin_user, text="Admins edit every brand.")
        for user in (legal_a, manager_b, UserFactory(role=None, brands=[brand_a])):
            with pytest.raises(NotPermitted, match="marketing managers and admins"):
                add(brand_a, user, text=f"By {user.username}")
        assert MemoryEntry.objects.count() == 1

    def test_an_entry_of_another_brand_is_not_found(self, brand_a, brand_b, manager):
        entry = add(brand_b, manager)
        with pytest.raises(DomainError, match=f"M{entry.pk} is not in Brand A's memory"):
            memory_entry_retire(
                brand_id=brand_a.pk,
                entry_id=entry.pk,
                note="Wrong brand",
                actor=Actor.for_user(manager),
            )
        assert MemoryEntry.objects.get().status == "active"

    def test_an_agent_writes_only_through_the_gate(self, brand_a):
        with pytest.raises(NotPermitted, match="only through the delegation-policy gate"):
            memory_entry_create(
                brand_id=brand_a.pk,
                kind="voice_rule",
                text="Agents guess.",
                actor=Actor.for_agent("learning"),
            )
        entry = memory_entry_create(
            brand_id=brand_a.pk,
            kind="voice_rule",
            text="Agents learn.",
            actor=Actor.for_agent("learning"),
            authorization="policy decision #1",
        )
        version = entry.versions.get()
        assert (version.changed_by_user, version.changed_by_agent) == (None, "learning")
        assert version.changed_by_label == "agent learning"
        assert version.authorization == "policy decision #1"


class TestClaims:
    def test_propose_then_legal_approves_once(self, brand_a, manager, legal_a):
        claim = propose(
            brand_a,
            manager,
            legal_a,
            variants=["Roasted when you order", " roasted when  you order"],
            disclaimers=["Within 2 business days."],
            jurisdictions=["us", "ca"],
        )
        assert claim.ref == f"C{claim.pk}" and claim.status == "pending"
        assert claim.variants == ["Roasted when you order"]  # repeats dropped
        assert claim.jurisdictions == ["US", "CA"]
        claim = claim_review(
            claim_id=claim.pk, reviewer=legal_a, approve=True, note="On file", today=TODAY
        )
        assert (claim.status, claim.reviewed_by, claim.review_note) == (
            "approved",
            legal_a,
            "On file",
        )
        with pytest.raises(DomainError, match="already approved"):
            claim_review(claim_id=claim.pk, reviewer=legal_a, approve=False, note="Changed my mind")
        assert actions() == ["claim.proposed", "claim.approved"]

    def test_only_the_brands_legal_reviewers_review(
        self, brand_a, manager, legal_a, legal_b, admin_user
    ):
        claim = propose(brand_a, manager, legal_a)
        for user in (manager, legal_b, admin_user):
            with pytest.raises(NotPermitted, match="Only a legal reviewer assigned to this brand"):
                claim_review(claim_id=claim.pk, reviewer=user, approve=True, today=TODAY)
        assert Claim.objects.get().status == "pending" and actions() == ["claim.proposed"]

    def test_nobody_reviews_a_claim_they_proposed(self, brand_a, legal_a):
        lawyer_admin = UserFactory(username="counsel", role=Role.ADMIN)
        lawyer_admin.groups.add(*legal_a.groups.all())
        claim = propose(brand_a, lawyer_admin, legal_a)
        with pytest.raises(NotPermitted, match="You proposed this claim"):
            claim_review(claim_id=claim.pk, reviewer=lawyer_admin, approve=True, today=TODAY)
        assert Claim.objects.get().status == "pending"

    def test_a_rejection_needs_a_reason(self, brand_a, manager, legal_a):
        claim = propose(brand_a, manager, legal_a)
        with pytest.raises(ClaimInvalid, match="a reason is required"):
            claim_review(claim_id=claim.pk, reviewer=legal_a, approve=False, today=TODAY)
        claim = claim_review(
            claim_id=claim.pk, reviewer=legal_a, approve=False, note="No study", today=TODAY
        )
        assert claim.status == "rejected"

    def test_a_claim_past_its_expiry_cannot_be_approved(self, brand_a, manager, legal_a):
        claim = propose(brand_a, manager, legal_a, days=3)
        with pytest.raises(ClaimInvalid, match="expired on"):
            claim_review(
                claim_id=claim.pk, reviewer=legal_a, approve=True, today=TODAY + timedelta(days=3)
            )
        assert Claim.objects.get().status == "pending"

    def test_who_may_propose_and_own(self, brand_a, manager, legal_a, legal_b, manager_b):
        with pytest.raises(NotPermitted, match="marketing managers and admins propose"):
            propose(brand_a, legal_a, legal_a)
        with pytest.raises(NotPermitted):
            propose(brand_a, manager_b, legal_a)
        with pytest.raises(ClaimInvalid, match="Choose a legal reviewer assigned to this brand"):
            propose(brand_a, manager, legal_b)
        legal_a.email = ""
        legal_a.save()
        with pytest.raises(ClaimInvalid, match="legal-a has no email address"):
            propose(brand_a, manager, legal_a)
        assert Claim.objects.count() == 0 and actions() == []

    def test_bad_claims_are_refused_with_every_problem(self, brand_a, manager, legal_a):
        with pytest.raises(ClaimInvalid) as refused:
            propose(brand_a, manager, legal_a, wording="ok", jurisdictions=["USA"], days=0)
        assert set(refused.value.errors) == {"wording", "jurisdictions", "expires_on"}
        assert Claim.objects.count() == 0

    def test_a_wording_already_in_the_registry_or_prohibited_is_refused(
        self, brand_a, brand_b, manager, legal_a, legal_b
    ):
        existing = propose(brand_a, manager, legal_a, variants=["Fresh from the roaster"])
        with pytest.raises(ClaimInvalid, match=f"already worded in claim {existing.ref}"):
            propose(brand_a, manager, legal_a, wording="roasted to order!")
        with pytest.raises(ClaimInvalid, match=f"already worded in claim {existing.ref}"):
            propose(
                brand_a,
                manager,
                legal_a,
                wording="Small batch",
                variants=["Fresh from the roaster"],
            )
        banned = add(brand_a, manager, kind="prohibited_claim", text="Clinically proven")
        with pytest.raises(
            ClaimInvalid, match=f"prohibited claim in the brand's memory \\({banned.ref}\\)"
        ):
            propose(brand_a, manager, legal_a, wording="Clinically proven")
        propose(brand_b, manager, legal_b)  # another brand's registry is its own
        assert Claim.objects.filter(brand=brand_a).count() == 1

    def test_retiring_a_claim(self, brand_a, manager, legal_a, legal_b):
        claim = approved(brand_a, manager, legal_a)
        with pytest.raises(NotPermitted):
            claim_retire(claim_id=claim.pk, user=legal_b, note="Not mine")
        with pytest.raises(ClaimInvalid, match="a note is required"):
            claim_retire(claim_id=claim.pk, user=legal_a, note="")
        claim = claim_retire(claim_id=claim.pk, user=legal_a, note="Study withdrawn")
        assert (claim.status, claim.retired_by, claim.retirement_note) == (
            "retired",
            legal_a,
            "Study withdrawn",
        )
        with pytest.raises(DomainError, match="only live claims retire"):
            claim_retire(claim_id=claim.pk, user=manager, note="Again")
        # Its wording is free again.
        assert propose(brand_a, manager, legal_a).status == "pending"

    def test_a_renewal_keeps_the_old_claim_approved_until_it_is_approved(
        self, brand_a, manager, legal_a
    ):
        old = approved(brand_a, manager, legal_a, days=10)
        renewal = propose(brand_a, manager, legal_a, days=400, renews_id=old.pk)
        old.refresh_from_db()
        assert (old.status, renewal.status, renewal.renews_id) == ("approved", "pending", old.pk)
        claim_review(claim_id=renewal.pk, reviewer=legal_a, approve=True, today=TODAY)
        old.refresh_from_db()
        assert (old.status, old.retirement_note) == ("retired", f"Renewed by {renewal.ref}.")
        assert Claim.objects.get(pk=renewal.pk).status == "approved"

    def test_a_renewal_must_keep_the_wording_and_expire_later(self, brand_a, manager, legal_a):
        old = approved(brand_a, manager, legal_a, days=100)
        with pytest.raises(ClaimInvalid, match=r"keeps C\d+'s wording"):
            propose(brand_a, manager, legal_a, wording="Other words", days=400, renews_id=old.pk)
        with pytest.raises(ClaimInvalid, match="must expire after"):
            propose(brand_a, manager, legal_a, days=50, renews_id=old.pk)
        pending = propose(brand_a, manager, legal_a, wording="Small batch")
        with pytest.raises(ClaimInvalid, match="Only an approved claim"):
            propose(
                brand_a, manager, legal_a, wording="Small batch", days=400, renews_id=pending.pk
            )
        assert Claim.objects.count() == 2
