"""Test data. Factories set up state directly; the behaviour under test goes through services."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from guardian.shortcuts import assign_perm

from campaigns.domain.phases import Phase
from campaigns.models import Brand, Brief, Campaign
from governance.domain.roles import Role
from governance.policies import ASSIGNMENT_PERMISSION

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, role: Role | None, **kwargs):
        if role:
            # get_or_create: transactional tests flush the groups the migration made.
            self.groups.add(Group.objects.get_or_create(name=role.value)[0])
        self.save()

    @factory.post_generation
    def brands(self, create, brands, **kwargs):
        for brand in brands or ():
            assign_perm(ASSIGNMENT_PERMISSION, self, brand)


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class BriefFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brief

    brand = factory.SubFactory(BrandFactory)
    title = factory.Sequence(lambda n: f"Brief {n}")
    objective = "Sell more"
    channels = ["email"]
    budget = Decimal("10000.00")
    deadline = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=30))
    success_metric = "cpa"
    created_by = factory.SubFactory(UserFactory)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    brief = factory.SubFactory(BriefFactory)
    brand = factory.SelfAttribute("brief.brand")
    name = factory.SelfAttribute("brief.title")
    owner = factory.SelfAttribute("brief.created_by")
    phase = Phase.BRIEFING
    phase_changed_at = factory.LazyFunction(timezone.now)
    budget_total = Decimal("10000.00")
