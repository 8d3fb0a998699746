"""The notifications page shows what a notice says, not the email's signed links."""

import pytest

from monitoring.domain.notices import in_app_summary
from monitoring.models import Notification
from tests.factories import CampaignFactory

EMAIL_BODY = (
    "Publish content for “Spring” (Northwind Coffee), proposed by agent content, in the "
    "Marketing Manager queue.\n"
    "Why it is here: the policy asks a person for every publication.\n\n"
    "Approve: http://127.0.0.1:8000/approvals/link/eyJhIjoxLCJkIjoiYXBwcm92ZSJ9:1x:abc/\n"
    "Reject (you will be asked why): http://127.0.0.1:8000/approvals/link/eyJhIjoxfQ:1x:def/\n\n"
    "Each link works once, for you alone, until 2026-12-04 19:28. "
    "You will see the request and confirm before anything is decided."
)


def test_the_summary_keeps_the_words_and_drops_the_links():
    summary = in_app_summary(EMAIL_BODY)
    assert summary == (
        "Publish content for “Spring” (Northwind Coffee), proposed by agent content, in the "
        "Marketing Manager queue. Why it is here: the policy asks a person for every "
        "publication."
    )
    assert "http" not in summary and "link works once" not in summary


def test_a_long_notice_is_cut_on_a_word():
    summary = in_app_summary("word " * 100, limit=50)
    assert len(summary) <= 51 and summary.endswith("word…")


@pytest.mark.django_db
def test_the_page_shows_summaries(client, manager, brand_a):
    campaign = CampaignFactory(brief__brand=brand_a, brief__created_by=manager)
    Notification.objects.create(
        recipient=manager,
        campaign=campaign,
        title="Publish content waits",
        body=EMAIL_BODY,
        url="/",
    )
    client.force_login(manager)
    html = client.get("/monitoring/notifications/").content.decode()
    assert "Why it is here" in html and "/approvals/link/" not in html
