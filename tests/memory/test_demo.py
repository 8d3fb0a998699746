"""The demo gives each brand a realistic memory and claims registry, through the services."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Brand
from memory.models import Claim
from memory.selectors import brand_rules, memory_for_agents

pytestmark = pytest.mark.django_db


def test_each_demo_brand_gets_memory_and_claims(settings, client):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("audit_verify")  # every memory write was audited on the chain
    today = timezone.localdate()

    for brand in Brand.objects.all():
        kinds = {fact.kind for fact in memory_for_agents(brand.pk)}
        assert kinds >= {
            "voice_rule",
            "segment",
            "prohibited_claim",
            "prohibited_phrase",
            "working_angle",
            "failure_mode",
            "approved_claim",
        }, brand
        claims = Claim.objects.filter(brand=brand)
        assert claims.filter(status="pending").exists()
        with_disclaimer = claims.filter(status="approved").exclude(disclaimers=[])
        assert with_disclaimer.filter(expires_on__gt=today + timedelta(days=14)).exists()
        assert claims.filter(status="approved", expires_on__lte=today + timedelta(days=14)).exists()
        rules = brand_rules(brand.pk)
        assert rules.prohibited_phrases and rules.approved_claims and rules.required_disclaimers

    client.force_login(get_user_model().objects.get(username="legal"))
    northwind = Brand.objects.get(slug="northwind")
    for name in ("brand", "claims"):
        response = client.get(reverse(f"memory:{name}", args=[northwind.slug]))
        assert response.status_code == 200
    rows = client.get(reverse("memory:claims", args=[northwind.slug])).context["rows"]
    assert [r["can_review"] for r in rows].count(True) == 1  # the claim waiting for legal
