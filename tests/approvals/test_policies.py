"""The permission decisions (governance.policies) as matrices, and brand visibility
agreeing with django-guardian's own answer."""

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm, get_objects_for_user

from approvals.models import ApprovalRequest
from campaigns.models import Brand
from governance import policies
from governance.domain.roles import Role
from tests.factories import BrandFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_visible_brands_agree_with_guardian_for_user_and_group_assignments():
    a, b, c = BrandFactory(), BrandFactory(), BrandFactory()
    team = Group.objects.create(name="Brand C team")
    assign_perm("campaigns.view_brand", team, c)
    direct = UserFactory(role=Role.LEGAL, brands=[a])
    via_group = UserFactory(role=Role.MANAGER)
    via_group.groups.add(team)
    both = UserFactory(role=Role.MANAGER, brands=[b])
    both.groups.add(team)
    other_perm = UserFactory(role=Role.MANAGER)
    assign_perm("campaigns.change_brand", other_perm, a)  # not an assignment
    for user in (direct, via_group, both, other_perm):
        expected = set(
            get_objects_for_user(
                user, "campaigns.view_brand", klass=Brand, accept_global_perms=False
            )
        )
        assert set(policies.visible_brands(user)) == expected
    assert set(policies.visible_brands(direct)) == {a}
    assert set(policies.visible_brands(via_group)) == {c}
    assert set(policies.visible_brands(both)) == {b, c}
    assert set(policies.visible_brands(other_perm)) == set()


def test_admins_see_every_brand_and_people_without_a_role_see_none():
    a = BrandFactory()
    assert list(policies.visible_brands(UserFactory(role=Role.ADMIN))) == [a]
    assert list(policies.visible_brands(UserFactory(brands=[a]))) == []


@pytest.mark.parametrize(
    ("role", "assigned", "write_briefs", "change_phase", "admin_site", "sees_brand"),
    [
        (Role.MANAGER, True, True, True, False, True),
        (Role.MANAGER, False, True, False, False, False),
        (Role.LEGAL, True, False, False, False, True),
        (Role.LEGAL, False, False, False, False, False),
        (Role.ADMIN, False, True, True, True, True),
        (None, True, False, False, False, False),
    ],
    ids=str,
)
def test_campaign_permission_matrix(
    role, assigned, write_briefs, change_phase, admin_site, sees_brand, campaign_a
):
    user = UserFactory(
        role=role, brands=[campaign_a.brand] if assigned else [], is_staff=role == Role.ADMIN
    )
    assert policies.can_write_briefs(user) is write_briefs
    assert policies.can_change_phase(user, campaign_a) is change_phase
    assert policies.can_use_admin_site(user) is admin_site
    assert policies.can_view_brand(user, campaign_a.brand) is sees_brand


# Who may decide an approval request: every role x queue x brand assignment, by hand.
DECIDE_MATRIX = [
    # role, queue, assigned to the item's brand, may decide
    (Role.MANAGER, Role.MANAGER, True, True),
    (Role.MANAGER, Role.MANAGER, False, False),
    (Role.MANAGER, Role.LEGAL, True, False),
    (Role.LEGAL, Role.LEGAL, True, True),
    (Role.LEGAL, Role.LEGAL, False, False),
    (Role.LEGAL, Role.MANAGER, True, False),
    (Role.ADMIN, Role.MANAGER, True, False),  # admins configure; they are not a queue
    (Role.ADMIN, Role.LEGAL, True, False),
    (None, Role.MANAGER, True, False),
    (None, Role.LEGAL, True, False),
]


@pytest.mark.parametrize(("role", "queue", "assigned", "allowed"), DECIDE_MATRIX, ids=str)
def test_approval_decision_matrix(role, queue, assigned, allowed, campaign_a):
    user = UserFactory(role=role, brands=[campaign_a.brand] if assigned else [])
    approval = ApprovalRequest.objects.create(
        campaign=campaign_a,
        brand=campaign_a.brand,
        action_type="launch_campaign",
        queue_role=queue.value,
        summary="s",
        requested_by_agent="planner",
    )
    refusal = policies.approval_refusal(user, approval)
    assert (refusal is None) is allowed, refusal
    if not allowed:
        assert refusal  # always says why
