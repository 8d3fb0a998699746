"""A launch proposal's figures come from the data: what is cleared, who is reachable."""

from decimal import Decimal

import pytest

from campaigns.domain.launch import launch_summary


def summary(cleared, reachable=0):
    return launch_summary(
        cleared=cleared,
        reachable_contacts=reachable,
        budget=Decimal("60000"),
        currency="USD",
        days=45,
    )


def test_it_counts_cleared_variants_per_channel_and_reachable_contacts():
    assert summary({"social_ads": 2, "email": 1}, reachable=38) == (
        "Launch plan ready: 1 email variant to 38 reachable contacts, 2 paid social variants; "
        "60,000 USD over 45 days."
    )


def test_an_email_with_nobody_to_reach_says_so():
    assert "no reachable contacts yet" in summary({"email": 2})


def test_nothing_cleared_is_not_a_launch_plan():
    assert summary({}).startswith("Nothing is cleared for publishing yet")
    assert summary({"email": 0}).startswith("Nothing is cleared")


@pytest.mark.django_db
def test_the_demo_launch_proposal_states_what_the_data_says(settings):
    """The first build promised "an email to 18,400 subscribers" for a brand with 40."""
    from django.core.management import call_command

    from approvals.models import ApprovalRequest
    from crm.models import Contact

    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    launch = ApprovalRequest.objects.get(action_type="launch_campaign")
    reason = launch.payload["reason"]
    assert "18,400" not in reason
    reachable = Contact.objects.filter(brand_id=launch.brand_id).mailable().count()
    if "email" in reason:
        assert f"{reachable:,} reachable contact" in reason
    assert reason.startswith("Launch plan ready:") or reason.startswith("Nothing is cleared")
