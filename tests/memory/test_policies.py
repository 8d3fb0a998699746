"""Who may read and change a brand's memory and claims: the full matrix."""

import pytest

from governance import policies
from governance.domain.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# role, assigned to the brand? -> read, edit, propose, review, retire, own
MATRIX = [
    (Role.MANAGER, True, (True, True, True, False, True, False)),
    (Role.MANAGER, False, (False, False, False, False, False, False)),
    (Role.LEGAL, True, (True, False, False, True, True, True)),
    (Role.LEGAL, False, (False, False, False, False, False, False)),
    (Role.ADMIN, False, (True, True, True, False, True, False)),  # admins see every brand
    (None, True, (False, False, False, False, False, False)),  # no role, no access
]


@pytest.mark.parametrize(("role", "assigned", "expected"), MATRIX)
def test_memory_and_claims_permissions(brand_a, role, assigned, expected):
    user = UserFactory(role=role, brands=[brand_a] if assigned else [])
    answers = (
        policies.can_view_brand(user, brand_a),
        policies.can_edit_memory(user, brand_a),
        policies.can_propose_claims(user, brand_a),
        policies.can_review_claims(user, brand_a),
        policies.can_retire_claims(user, brand_a),
        policies.can_own_claims(user, brand_a),
    )
    assert answers == expected


def test_claim_owner_candidates_are_the_brands_active_legal_reviewers(brand_a, brand_b):
    mine = UserFactory(username="legal-mine", role=Role.LEGAL, brands=[brand_a])
    UserFactory(username="legal-other", role=Role.LEGAL, brands=[brand_b])
    UserFactory(username="legal-gone", role=Role.LEGAL, brands=[brand_a], is_active=False)
    UserFactory(username="manager-a", role=Role.MANAGER, brands=[brand_a])
    counsel = UserFactory(username="admin-counsel", role=Role.ADMIN)
    counsel.groups.add(*mine.groups.all())
    candidates = list(policies.claim_owner_candidates(brand_a))
    assert candidates == [counsel, mine]
    assert all(policies.can_own_claims(user, brand_a) for user in candidates)
