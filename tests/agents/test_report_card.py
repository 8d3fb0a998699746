"""The leadership report beside the campaign's charts: shown once the reporting agent
has written one, asked for from the page, pushed live with the rest of the agents' work."""

import pytest
from django.urls import reverse

from agents.models import AgentRun
from agents.services import agent_work_ask
from governance.models import AuditEvent

from .chain import drain
from .test_agent_chain import submit

pytestmark = pytest.mark.django_db


def page(client, campaign):
    return client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()


def ask(client, campaign, agent="reporting"):
    return client.post(reverse("agents:ask", args=[campaign.pk]), {"agent": agent})


def test_a_manager_asks_for_a_report_and_reads_it_beside_the_charts(login, manager, brand_a):
    campaign = submit(manager, brand_a)
    drain()
    client = login(manager)
    assert "No report yet." in page(client, campaign)

    response = ask(client, campaign)
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="agent.work_asked", data__agent="reporting").exists()
    ask(client, campaign)  # a second click while it works asks for nothing more
    assert AgentRun.objects.filter(campaign=campaign, agent="reporting").count() == 1
    assert drain() == ["reporting"]

    html = page(client, campaign)
    report = html.split('<div id="agent-report"')[1].split("</section>")[0]
    assert '<p class="report-headline">Winter warmers' in report
    for heading in ("What changed", "Why", "What next"):
        assert f"<h3>{heading}</h3>" in report
    assert "offline composer" in report and "asked for by manager" in report
    # It sits right after the charts, before the flags.
    assert html.index("pacing-heading") < html.index("report-heading") < html.index("SLAs")


def test_who_may_ask_and_what(login, manager, legal_a, brand_a):
    campaign = submit(manager, brand_a)
    drain()
    assert ask(login(legal_a), campaign).status_code == 403
    response = ask(login(manager), campaign, agent="distribution")
    assert response.status_code == 302
    assert not AgentRun.objects.filter(agent__in=["reporting", "distribution"]).exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Agents you can ask: research, performance, reporting, content."]
    assert "Ask for a new report" not in page(login(legal_a), campaign)  # read-only for legal


def test_the_live_update_carries_the_report(manager, brand_a):
    from django.template.loader import render_to_string

    from agents.selectors import campaign_agent_work

    campaign = submit(manager, brand_a)
    drain()
    agent_work_ask(campaign_id=campaign.pk, agent="reporting", user=manager)
    drain()
    html = render_to_string(
        "campaigns/campaign_detail.html#agent-work-update",
        {"agent_work": campaign_agent_work(campaign.pk)},
    )
    assert '<div id="agent-report" hx-swap-oob="true">' in html
    assert "report-headline" in html
