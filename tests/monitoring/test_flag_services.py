"""The flag and SLA writes (``monitoring.services.flags``) that feed the tower's SLA and
anomaly columns."""

import pytest

from campaigns.models import Campaign
from governance.domain.audit import Actor
from governance.domain.errors import DomainError
from governance.models import AuditEvent
from monitoring.models import AnomalyFlag
from monitoring.services import anomaly_flag_raise, anomaly_flag_resolve, sla_evaluation_record

pytestmark = pytest.mark.django_db
AGENT = Actor.for_agent("performance")


def evaluate(campaign, sla, status):
    return sla_evaluation_record(
        campaign_id=campaign.pk, sla=sla, status=status, measured="x", target="y", actor=AGENT
    )


def test_campaign_sla_status_is_the_worst_latest_evaluation(campaign_a):
    evaluate(campaign_a, "draft_time", "on_track")
    evaluate(campaign_a, "budget_pacing", "breached")
    assert Campaign.objects.get(pk=campaign_a.pk).sla_status == "breached"
    evaluate(campaign_a, "budget_pacing", "at_risk")  # the newer pacing figure replaces it
    assert Campaign.objects.get(pk=campaign_a.pk).sla_status == "at_risk"
    evaluate(campaign_a, "budget_pacing", "on_track")
    assert Campaign.objects.get(pk=campaign_a.pk).sla_status == "on_track"
    statuses = [e.data["status"] for e in AuditEvent.objects.filter(action="sla.evaluated")]
    assert statuses == ["on_track", "breached", "at_risk", "on_track"]


def test_one_incident_is_one_flag_until_resolved(campaign_a):
    raise_it = dict(
        campaign_id=campaign_a.pk, kind="cpa_above_limit", response="escalate", actor=AGENT
    )
    first = anomaly_flag_raise(explanation="CPA 35.00 above 28.00 for 1 h", **raise_it)
    again = anomaly_flag_raise(explanation="CPA 41.20 above 28.00 for 3 h", **raise_it)
    assert first.pk == again.pk and AnomalyFlag.objects.count() == 1
    assert AnomalyFlag.objects.get().explanation == "CPA 41.20 above 28.00 for 3 h"
    anomaly_flag_resolve(flag_id=first.pk, actor=AGENT, note="bids lowered")
    with pytest.raises(DomainError, match="already resolved"):
        anomaly_flag_resolve(flag_id=first.pk, actor=AGENT)
    reopened = anomaly_flag_raise(explanation="CPA 30.10 above 28.00", **raise_it)
    assert reopened.pk != first.pk
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["anomaly.raised", "anomaly.updated", "anomaly.resolved", "anomaly.raised"]
