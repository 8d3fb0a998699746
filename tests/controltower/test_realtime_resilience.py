"""Live updates never cost a change: with Redis unreachable the change still commits."""

import pytest

from campaigns.models import Campaign
from campaigns.services import campaign_transition_phase
from governance.domain.audit import Actor

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit must really run


def test_a_change_still_commits_when_redis_is_down(monkeypatch, caplog, campaign_a):
    """Live updates are a convenience: with Redis unreachable the change is committed and
    one warning line says what was not announced."""
    import logging

    import redis

    from controltower import realtime

    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(realtime, "_redis_client", dead)
    with caplog.at_level(logging.WARNING, logger="controltower.realtime"):
        campaign_transition_phase(
            campaign_id=campaign_a.pk, to_phase="execution", actor=Actor.system("tests")
        )
    assert Campaign.objects.get(pk=campaign_a.pk).phase == "execution"
    warnings = [r for r in caplog.records if r.name == "controltower.realtime"]
    assert len(warnings) == 1 and "Could not announce the change of campaign" in warnings[0].message
    assert warnings[0].exc_info is None  # no traceback flood
