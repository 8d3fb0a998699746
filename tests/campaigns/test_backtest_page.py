"""The campaign page's backtest ("how would the live detector have done on my data?") and
the detector's band on the page: over HTTP, as the fragment htmx swaps in and as a page."""

import json
import random
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from agents.charts import EN_DASH
from campaigns.domain.phases import Phase
from campaigns.models import PerformanceSample
from governance.domain.audit import Actor
from monitoring import services as monitoring_services
from monitoring.models import AnomalyKind, FlagResponse, FlagState
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
DAYS = 9


@pytest.fixture
def delivering(brand_a, manager):
    """A campaign delivering for nine days, judged by CPA against 28.00."""
    return CampaignFactory(
        brief__brand=brand_a,
        brief__created_by=manager,
        brief__success_target=Decimal("28.00"),
        name="Delivering",
        phase=Phase.MONITORING,
        launched_at=timezone.now() - timedelta(days=DAYS),
    )


def seed_hours(campaign, *, hours=DAYS * 24, cpc_spike_hours=0, seed=7):
    """Closed hours of steady delivery, oldest first (200 clicks at about 0.50 a click,
    ~5 % noise); the last ``cpc_spike_hours`` cost twice as much per click. The hour under
    way is left out: nothing judges it until it closes."""
    rng = random.Random(seed)
    this_hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    rows = []
    for ago in range(hours, 0, -1):
        cpc = 0.5 * rng.uniform(0.95, 1.05) * (2.0 if ago <= cpc_spike_hours else 1.0)
        rows.append(
            PerformanceSample(
                campaign=campaign,
                channel="search_ads",
                bucket_start=this_hour - timedelta(hours=ago),
                impressions=10_000,
                clicks=200,
                conversions=5,
                spend=Decimal(f"{200 * cpc:.2f}"),
            )
        )
    PerformanceSample.objects.bulk_create(rows)


def backtest(client, campaign, *, htmx=True, **params):
    url = reverse("campaigns:backtest", args=[campaign.pk])
    return client.get(url, params, **(HTMX if htmx else {}))


def figure(page: str, chart: str) -> dict:
    found = re.search(
        rf'<script id="chart-{chart}-data" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, f"no data for the {chart} chart"
    return json.loads(found.group(1))


def traces(page: str, chart: str) -> dict:
    return {trace["name"]: trace for trace in figure(page, chart)["data"]}


def test_a_cpc_spike_is_where_the_backtest_would_have_flagged(login, manager, delivering):
    seed_hours(delivering, cpc_spike_hours=6)

    response = backtest(login(manager), delivering, metric="cpc")

    page = response.content.decode()
    assert response.status_code == 200
    # The fragment htmx swaps in: the page's own partial, nothing around it.
    assert page.lstrip().startswith('<section id="backtest"')
    assert "<html" not in page and "chart-performance" not in page
    drawn = traces(page, "backtest")
    fired = drawn["Would have flagged"]
    assert len(fired["x"]) == 1  # one incident, one flag: on its third bad hour in a row
    this_hour = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    assert fired["x"][0] == (this_hour - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S")
    assert fired["y"][0] > 0.9  # on the line, at the spiked CPC
    # About 1.00 a click against a usual 0.50 (its median + 35 %, the least it calls a change).
    said = r"CPC (0\.9\d|1\.0\d), expected up to 0\.6\d"
    assert re.fullmatch(f"Would have flagged: {said}", fired["hovertext"][0])
    # The band the detector expected at each judged hour, under the line.
    assert "Expected range" in drawn and "CPC (USD)" in drawn
    summary = re.search(r'<p id="chart-backtest-summary"[^>]*>(.*?)</p>', page).group(1)
    # Beyond a week a weekday alone is ambiguous: "Thu 3 Dec 14:00".
    when = r"\w{3} \d{1,2} \w{3} \d\d:00"
    assert re.fullmatch(f"Would have flagged 1 time in 9 days: {when} \\({said}\\)\\.", summary)
    assert "hours are pooled until they hold 100 clicks; after 48 such points" in page
    assert "The live monitor watches CPC per channel; this replays them summed." in page


def test_a_healthy_history_would_not_have_flagged(login, manager, delivering):
    seed_hours(delivering)

    page = backtest(login(manager), delivering, metric="cpc").content.decode()

    assert "Would have flagged" not in traces(page, "backtest")
    assert "Would not have flagged in 9 days." in page


def test_a_short_history_says_how_much_more_the_detector_needs(login, manager, delivering):
    seed_hours(delivering, hours=10)

    page = backtest(login(manager), delivering, metric="cpc").content.decode()

    # CPC judges after 48 hourly points: 10 seen, 39 more to go.
    assert (
        "Would not have flagged in 10 hours; needs about 39 more hours of history "
        "before it judges." in page
    )


def test_a_control_limit_to_try_replaces_the_live_one(login, manager, delivering):
    seed_hours(delivering)
    client = login(manager)

    live = backtest(client, delivering, metric="cpa").content.decode()
    tried = backtest(client, delivering, metric="cpa", control_limit="15").content.decode()

    # CPA is 20 an hour: the brief's 28.00 is never crossed; a limit of 15 always is.
    assert "Would not have flagged in 9 days." in live
    assert "Control limit (28)" in traces(live, "backtest")
    assert "Control limit (15)" in traces(tried, "backtest")
    assert "Would have flagged 1 time in 9 days" in tried


def test_bad_input_is_refused_beside_the_form(login, manager, delivering):
    seed_hours(delivering, hours=24)
    client = login(manager)

    for params, message in [
        ({"metric": "roas"}, "Choose a metric from the list."),
        ({"metric": "cpc", "control_limit": "-1"}, "A control limit cannot be negative."),
        ({"metric": "cpc", "control_limit": "lots"}, "Enter a number in plain digits"),
        ({}, "This field is required."),
    ]:
        response = backtest(client, delivering, **params)
        page = response.content.decode()
        # TRICKY: 200, or htmx would not swap the error in.
        assert response.status_code == 200
        assert page.lstrip().startswith('<section id="backtest"')
        assert message in page.split('role="alert"')[1]
        assert "chart-backtest" not in page

    # Without htmx: the whole page, with the error where the form is.
    response = backtest(client, delivering, htmx=False, metric="cpc", control_limit="-1")
    page = response.content.decode()
    assert response.status_code == 422
    assert "A control limit cannot be negative." in page and 'id="chart-performance"' in page


def test_without_htmx_the_page_comes_whole_with_the_backtest(login, manager, delivering):
    seed_hours(delivering, cpc_spike_hours=6)

    response = backtest(login(manager), delivering, htmx=False, metric="cpc")

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="chart-performance"' in page and 'id="chart-backtest"' in page
    assert "Would have flagged 1 time in 9 days" in page
    assert '<option value="cpc" selected>CPC</option>' in page


def test_another_brands_people_cannot_backtest_its_campaigns(
    login, legal_a, delivering, campaign_b
):
    client = login(legal_a)

    assert backtest(client, campaign_b, metric="cpc").status_code == 404
    assert backtest(client, delivering, metric="cpc").status_code == 200


def test_the_page_offers_the_backtest_and_draws_the_detectors_band(login, manager, delivering):
    seed_hours(delivering)

    response = login(manager).get(reverse("campaigns:detail", args=[delivering.pk]))

    page = response.content.decode()
    assert '<section id="backtest"' in page and "Backtest this metric" in page
    assert f'hx-get="{reverse("campaigns:backtest", args=[delivering.pk])}"' in page
    # The chart's metric is preselected; nothing has been run yet.
    assert '<option value="cpa" selected>CPA</option>' in page
    assert 'id="chart-backtest"' not in page
    # The CPA chart carries the band the live detector expected: up to the brief's 28.00,
    # once it has pooled enough conversions to judge (25 a point, from the fourth point).
    drawn = traces(page, "performance")
    assert set(drawn["Expected (upper)"]["y"]) == {28.0}
    assert len(drawn["Expected (upper)"]["x"]) == DAYS * 24 // 5 - 3
    assert "Expected range at " in page and ": up to 28." in page


def test_a_flag_shows_the_band_it_left(login, manager, delivering):
    flag = monitoring_services.anomaly_flag_raise(
        campaign_id=delivering.pk,
        kind=AnomalyKind.CPC_SPIKE,
        explanation="CPC 0.62 is above its usual range (up to 0.48) for 3 h",
        response=FlagResponse.OPTIMIZE,
        actor=Actor.for_agent("performance"),
        observed=Decimal("0.62"),
        expected=(Decimal("0.31"), Decimal("0.48")),
        channel="search_ads",
        state=FlagState.FIRING,
    )
    since = timezone.localtime(flag.opened_at).strftime("%H:%M")

    page = login(manager).get(reverse("campaigns:detail", args=[delivering.pk])).content.decode()

    assert (
        f'<p class="flag-band small">Expected 0.31{EN_DASH}0.48, seen 0.62, since {since}</p>'
        in page
    )

    monitoring_services.anomaly_flag_resolve(flag_id=flag.pk, actor=Actor.for_agent("performance"))
    page = login(manager).get(reverse("campaigns:detail", args=[delivering.pk])).content.decode()
    assert f'<p class="flag-band small">Expected 0.31{EN_DASH}0.48, seen 0.62</p>' in page
