"""Queue analytics: the pure statistics on literal data, the selector on rows made
directly (timestamps set precisely), and the admin page."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import analytics
from approvals.analytics import (
    DecidedItem,
    EditRecord,
    HeldBasis,
    QueueLoad,
    disagreement,
    format_span,
    median,
    percentile,
    queue_stats,
    reviewer_stats,
    rubber_stamp_check,
    time_held,
)
from approvals.models import ApprovalRequest
from governance.domain.audit import Actor
from governance.domain.roles import Role
from governance.services import audit_record

from ..factories import CampaignFactory

SEC = timedelta(seconds=1)
MIN = timedelta(minutes=1)
H = timedelta(hours=1)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LEGAL, MANAGER = Role.LEGAL.value, Role.MANAGER.value


def item(pk=1, *, queue=MANAGER, status="approved", campaign=1, took=H, by=7, **extra):
    """A decided item that arrived at T0 and was decided ``took`` later by user ``by``."""
    return DecidedItem(
        approval_id=pk,
        queue_role=queue,
        status=status,
        campaign_id=campaign,
        campaign_name=extra.pop("name", f"Campaign {campaign}"),
        created_at=T0,
        decided_at=T0 + took,
        decided_by_id=by,
        reviewer=extra.pop("reviewer", f"user{by}" if by else ""),
        **extra,
    )


# --- Pure statistics ------------------------------------------------------------------


def test_median_and_p90_interpolate_between_ranks():
    durations = [n * SEC for n in range(10, 0, -1)]  # 10 s … 1 s, unsorted on purpose
    assert median(durations) == 5.5 * SEC
    assert percentile(durations, 0.9) == 9.1 * SEC
    assert percentile(durations, 0) == SEC
    assert percentile(durations, 1) == 10 * SEC
    assert median([3 * MIN]) == percentile([3 * MIN], 0.9) == 3 * MIN
    assert median([]) is None
    assert percentile([], 0.9) is None
    with pytest.raises(ValueError):
        percentile(durations, 90)


def test_time_held_runs_from_the_deciders_claim_else_from_arrival():
    claimed = item(took=H, claimed_by_id=7, claimed_at=T0 + 50 * MIN)
    assert time_held(claimed) == (10 * MIN, HeldBasis.CLAIMED)
    assert time_held(item(took=H)) == (H, HeldBasis.ARRIVED)
    # Someone else's (stale) claim says nothing about how long the decider looked.
    other = item(took=H, claimed_by_id=8, claimed_at=T0 + 59 * MIN)
    assert time_held(other) == (H, HeldBasis.ARRIVED)


def test_rubber_stamp_is_under_the_threshold_with_and_without_a_claim():
    # Arrived an hour before, claimed and approved 4 s later: rubber-stamped.
    quick = item(took=H, claimed_by_id=7, claimed_at=T0 + H - 4 * SEC)
    assert rubber_stamp_check(quick, 10) == analytics.RubberStampCheck(
        4 * SEC, HeldBasis.CLAIMED, True
    )
    # Never claimed: measured since it arrived, and labelled so.
    unclaimed = rubber_stamp_check(item(took=6 * SEC), 10)
    assert (unclaimed.basis, unclaimed.rubber_stamped) == (HeldBasis.ARRIVED, True)
    assert str(unclaimed.basis) == "since it arrived"
    # The threshold itself is not under the threshold.
    assert not rubber_stamp_check(item(took=10 * SEC), 10).rubber_stamped
    assert rubber_stamp_check(item(took=10 * SEC), 30).rubber_stamped


def test_queue_stats_shares_over_every_outcome_times_over_people_only():
    items = [
        item(1, took=1 * H),
        item(2, took=2 * H, status="rejected"),
        item(3, took=3 * H, status="changes_requested"),
        # Expired by the clock after 48 h: an outcome, not a decision time.
        item(4, took=48 * H, status="expired", by=None),
        item(5, queue=LEGAL, took=5 * H),
    ]
    loads = [QueueLoad(MANAGER, 4, 1), QueueLoad(Role.ADMIN.value, 2, 2)]
    manager, legal, admin = queue_stats(items, loads)
    assert (manager.queue_role, legal.queue_role, admin.queue_role) == (
        MANAGER,
        LEGAL,
        Role.ADMIN.value,
    )
    assert (manager.decided, manager.approved, manager.rejected, manager.expired) == (4, 1, 1, 1)
    assert manager.approved_share == manager.expired_share == 0.25
    assert manager.changes_requested_share == 0.25
    assert manager.decided_by_person == 3
    assert manager.median_to_decision == 2 * H
    assert manager.p90_to_decision == 2.8 * H
    assert (manager.pending, manager.overdue) == (4, 1)
    assert (legal.decided, legal.approved_share, legal.pending) == (1, 1.0, 0)
    assert (admin.decided, admin.approved_share, admin.median_to_decision) == (0, None, None)
    assert (admin.pending, admin.overdue) == (2, 2)


def test_reviewer_stats_per_person_and_queue_with_edit_effort():
    items = [
        item(1, by=7, took=H, claimed_by_id=7, claimed_at=T0 + H - 3 * SEC),  # stamped
        item(2, by=7, took=5 * SEC),  # stamped, since it arrived
        item(3, by=7, took=H, claimed_by_id=7, claimed_at=T0 + 40 * MIN),
        item(4, by=7, took=H, queue=LEGAL, status="rejected"),
        item(5, by=8, took=2 * H),
        item(6, by=None, took=48 * H, status="expired"),  # nobody's decision
    ]
    edits = [
        EditRecord(1, 7, 40),
        EditRecord(3, 7, 10),
        EditRecord(5, 9, 99),  # not the decider's edit: not counted for anyone
        EditRecord(404, 7, 500),  # not an approval decided in the period
    ]
    seven_manager, eight_manager, seven_legal = reviewer_stats(items, edits, 10)
    assert (seven_manager.reviewer, seven_manager.queue_role) == ("user7", MANAGER)
    assert seven_manager.decisions == 3
    assert seven_manager.claimed == 2
    assert seven_manager.median_held == (3 * SEC + 20 * MIN) / 2
    assert (seven_manager.rubber_stamped, seven_manager.rubber_stamped_since_arrival) == (2, 1)
    assert seven_manager.rubber_stamped_share == pytest.approx(2 / 3)
    assert seven_manager.flagged
    assert (seven_manager.edits, seven_manager.median_edit_effort) == (2, 25.0)
    assert (eight_manager.reviewer, eight_manager.edits, eight_manager.median_held) == (
        "user8",
        0,
        None,
    )
    assert not eight_manager.flagged
    assert (seven_legal.queue_role, seven_legal.decisions, seven_legal.rubber_stamped) == (
        LEGAL,
        1,
        0,
    )


def test_disagreement_counts_campaigns_where_one_queue_approved_and_the_other_rejected():
    items = [
        # Campaign 1: legal rejected, the manager approved: disagree.
        item(1, campaign=1, queue=LEGAL, status="rejected"),
        item(2, campaign=1, queue=MANAGER, status="approved"),
        # Campaign 2: both approved: compared, agrees.
        item(3, campaign=2, queue=LEGAL, status="approved"),
        item(4, campaign=2, queue=MANAGER, status="approved"),
        # Campaign 3: the manager rejected one, legal approved another: disagree.
        item(5, campaign=3, queue=MANAGER, status="rejected"),
        item(6, campaign=3, queue=MANAGER, status="approved"),
        item(7, campaign=3, queue=LEGAL, status="approved"),
        # Campaign 4: changes requested is neither: compared, agrees.
        item(8, campaign=4, queue=LEGAL, status="changes_requested"),
        item(9, campaign=4, queue=MANAGER, status="approved"),
        # Campaign 5: only legal decided: not compared.
        item(10, campaign=5, queue=LEGAL, status="rejected"),
        # Campaign 6: legal's item expired (nobody decided it): not compared.
        item(11, campaign=6, queue=LEGAL, status="expired", by=None),
        item(12, campaign=6, queue=MANAGER, status="approved"),
    ]
    result = disagreement(items)
    assert (result.compared, result.disagreeing, result.share) == (4, 2, 0.5)
    first, third = result.campaigns
    assert (first.campaign_id, first.legal_rejected_manager_approved) == (1, True)
    assert first.description == "legal rejected, the marketing manager approved"
    assert (third.campaign_id, third.manager_rejected_legal_approved) == (3, True)
    assert disagreement([]).share is None


def test_format_span_reads_in_seconds_up_to_days():
    assert format_span(None) == "—"
    assert format_span(SEC / 2) == "< 1 s"
    assert format_span(8 * SEC) == "8 s"
    assert format_span(4 * MIN + 10 * SEC) == "4 min 10 s"
    assert format_span(3 * H + 20 * MIN) == "3 h 20 min"
    assert format_span(52 * H) == "2 d 4 h"


# --- The selector on real rows --------------------------------------------------------


def make_request(
    campaign,
    *,
    queue=MANAGER,
    status="approved",
    created,
    decided=None,
    decided_by=None,
    claimed_by=None,
    claimed_at=None,
    due_at=None,
):
    approval = ApprovalRequest.objects.create(
        campaign=campaign,
        brand=campaign.brand,
        action_type="publish_content",
        queue_role=queue,
        summary=f"Publish a post for {campaign.name}",
        requested_by_agent="copywriter",
    )
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        status=status,
        created_at=created,
        decided_at=decided,
        decided_by=decided_by,
        claimed_by=claimed_by,
        claimed_at=claimed_at,
        due_at=due_at or created + 8 * H,
    )
    return approval


def record_edit(approval, user, effort_chars):
    with transaction.atomic():
        audit_record(
            actor=Actor.for_user(user),
            action="approval.approved",
            target=approval,
            brand_id=approval.brand_id,
            campaign_id=approval.campaign_id,
            data={"edit": {"effort_chars": effort_chars}},
        )


@pytest.fixture
def now():
    return timezone.now()


def period(now, days=30):
    return {"since": now - timedelta(days=days), "until": now + SEC}


@pytest.mark.django_db
def test_selector_per_queue_and_reviewer_with_rubber_stamps(
    campaign_a, campaign_b, manager, legal_a, now
):
    arrived = now - 2 * H
    # Claimed, then approved 3 s later: rubber-stamped, since claimed.
    make_request(
        campaign_a,
        created=arrived,
        decided=arrived + H + 3 * SEC,
        decided_by=manager,
        claimed_by=manager,
        claimed_at=arrived + H,
    )
    # Never claimed, approved 5 s after it arrived: rubber-stamped, since it arrived.
    make_request(campaign_a, created=arrived, decided=arrived + 5 * SEC, decided_by=manager)
    # Claimed and read for 20 minutes before rejecting: not rubber-stamped.
    make_request(
        campaign_b,
        status="rejected",
        created=arrived,
        decided=arrived + H,
        decided_by=manager,
        claimed_by=manager,
        claimed_at=arrived + 40 * MIN,
    )
    make_request(campaign_a, status="expired", created=now - 50 * H, decided=now - 34 * H)
    make_request(campaign_a, queue=LEGAL, created=arrived, decided=now, decided_by=legal_a)
    # Waiting: one overdue, one not.
    make_request(campaign_a, status="pending", created=now - 9 * H, due_at=now - H)
    make_request(campaign_a, status="pending", created=now - MIN, due_at=now + H)
    # Decided before the period: left out.
    make_request(campaign_a, created=now - 40 * 24 * H, decided=now - 39 * 24 * H)

    report = analytics.queue_analytics(**period(now), brand_ids=None)

    queues = {q.queue_role: q for q in report.queues}
    mm = queues[MANAGER]
    assert (mm.decided, mm.approved, mm.rejected, mm.expired) == (4, 2, 1, 1)
    assert (mm.approved_share, mm.rejected_share, mm.expired_share) == (0.5, 0.25, 0.25)
    # Created → decided over the three decisions a person made (5 s, 1 h, 1 h 0 min 3 s).
    assert mm.median_to_decision == H
    assert mm.p90_to_decision == H + 2.4 * SEC
    assert (mm.pending, mm.overdue) == (2, 1)
    assert (queues[LEGAL].decided, queues[LEGAL].median_to_decision) == (1, 2 * H)

    reviewers = {(r.reviewer, r.queue_role): r for r in report.reviewers}
    mine = reviewers[("manager", MANAGER)]
    assert (mine.decisions, mine.claimed, mine.rubber_stamped) == (3, 2, 2)
    assert mine.rubber_stamped_since_arrival == 1
    assert mine.median_held == (3 * SEC + 20 * MIN) / 2
    legal_row = reviewers[("legal-a", LEGAL)]
    assert (legal_row.rubber_stamped, legal_row.median_held) == (0, None)

    only_b = analytics.queue_analytics(**period(now), brand_ids=[campaign_b.brand_id])
    assert [(q.queue_role, q.decided, q.pending) for q in only_b.queues] == [(MANAGER, 1, 0)]


@pytest.mark.django_db
def test_the_rubber_stamp_threshold_comes_from_the_setting(campaign_a, manager, now, settings):
    arrived = now - H
    make_request(campaign_a, created=arrived, decided=arrived + 25 * SEC, decided_by=manager)
    assert analytics.queue_analytics(**period(now), brand_ids=None).reviewers[0].rubber_stamped == 0
    settings.CONTROLTOWER_RUBBER_STAMP_SECONDS = 30
    report = analytics.queue_analytics(**period(now), brand_ids=None)
    assert report.rubber_stamp_seconds == 30
    assert report.reviewers[0].rubber_stamped == 1


@pytest.mark.django_db
def test_selector_disagreement_between_legal_and_marketing(
    campaign_a, manager, legal_a, brand_a, now
):
    both_approved = CampaignFactory(brief__brand=brand_a, brief__created_by=manager, name="Calm")
    arrived = now - 3 * H
    decided = {"created": arrived, "decided": arrived + H}
    make_request(campaign_a, queue=LEGAL, status="rejected", decided_by=legal_a, **decided)
    make_request(campaign_a, queue=MANAGER, status="approved", decided_by=manager, **decided)
    make_request(both_approved, queue=LEGAL, decided_by=legal_a, **decided)
    make_request(both_approved, queue=MANAGER, decided_by=manager, **decided)

    result = analytics.queue_analytics(**period(now), brand_ids=None).disagreement

    assert (result.compared, result.disagreeing, result.share) == (2, 1, 0.5)
    (only,) = result.campaigns
    assert (only.campaign_id, only.campaign_name) == (campaign_a.pk, "A campaign")
    assert only.legal_rejected_manager_approved


@pytest.mark.django_db
def test_selector_reads_edit_effort_from_the_audit_trail(campaign_a, manager, legal_a, now):
    arrived = now - H
    edited = make_request(campaign_a, created=arrived, decided=arrived + MIN, decided_by=manager)
    also = make_request(campaign_a, created=arrived, decided=arrived + MIN, decided_by=manager)
    make_request(campaign_a, created=arrived, decided=arrived + MIN, decided_by=manager)
    record_edit(edited, manager, 42)
    record_edit(also, manager, 8)
    # An approval.approved row without an edit is not an edit.
    with transaction.atomic():
        audit_record(
            actor=Actor.for_user(manager), action="approval.approved", target=also, data={}
        )

    (row,) = analytics.queue_analytics(**period(now), brand_ids=None).reviewers

    assert (row.reviewer, row.decisions, row.edits, row.median_edit_effort) == (
        "manager",
        3,
        2,
        25.0,
    )


@pytest.mark.django_db
def test_selector_runs_a_fixed_number_of_queries(campaign_a, campaign_b, manager, legal_a, now):
    def build(count):
        arrived = now - 2 * H
        for n in range(count):
            campaign = campaign_a if n % 2 else campaign_b
            queue = LEGAL if n % 3 == 0 else MANAGER
            reviewer = legal_a if queue == LEGAL else manager
            approval = make_request(
                campaign,
                queue=queue,
                status="rejected" if n % 4 == 0 else "approved",
                created=arrived,
                decided=arrived + n * MIN,
                decided_by=reviewer,
                claimed_by=reviewer if n % 2 else None,
                claimed_at=arrived + n * MIN - 5 * SEC if n % 2 else None,
            )
            if n % 5 == 0:
                record_edit(approval, reviewer, n)
        make_request(campaign_a, status="pending", created=now, due_at=now - SEC)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            analytics.queue_analytics(**period(now), brand_ids=None)
        return len(captured)

    build(3)
    few = queries()
    build(27)
    assert ApprovalRequest.objects.exclude(status="pending").count() == 30
    assert queries() == few == 3


# --- The page -------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_admins_see_the_page(login, manager, admin_user):
    assert login(manager).get("/approvals/analytics/").status_code == 403
    response = login(admin_user).get("/approvals/analytics/")
    assert response.status_code == 200
    assert b"Queue analytics" in response.content


@pytest.mark.django_db
def test_the_page_shows_tables_flags_and_disagreement(
    login, admin_user, campaign_a, manager, legal_a, now
):
    arrived = now - H
    make_request(campaign_a, created=arrived, decided=arrived + 2 * SEC, decided_by=manager)
    make_request(
        campaign_a, queue=LEGAL, status="rejected", created=arrived, decided=now, decided_by=legal_a
    )

    response = login(admin_user).get("/approvals/analytics/", {"days": "7"})

    html = response.content.decode()
    assert response.context["days"] == 7
    assert '<th scope="row">Marketing Manager</th>' in html
    assert '<th scope="col">Reviewer</th>' in html
    # Flagged in words and with an icon, not by colour alone.
    assert "⚠</span> Rubber-stamping" in html
    assert "1 measured since it arrived" in html
    assert "<strong>1 of 1</strong>" in html
    assert f'href="/campaigns/{campaign_a.pk}/">A campaign</a>' in html
    assert html.count("How this is computed") == 3


@pytest.mark.django_db
def test_bad_period_and_brand_are_explained_and_fall_back(login, admin_user, brand_a):
    client = login(admin_user)

    response = client.get("/approvals/analytics/", {"days": "365", "brand": "nope"})

    assert response.status_code == 200
    assert response.context["days"] == 30
    assert response.context["brand"] is None
    html = response.content.decode()
    assert "“365” is not a period this page offers" in html
    assert "There is no brand “nope”" in html

    chosen = client.get("/approvals/analytics/", {"days": "90", "brand": "brand-a"})
    assert (chosen.context["days"], chosen.context["brand"]) == (90, brand_a)
    assert not chosen.context["problems"]


def test_admins_find_the_analytics_from_their_queue(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("approvals:queue")).content.decode()
    assert reverse("approvals:analytics") in page
