"""Distribution: publishes what the policy allowed or approvals cleared, through the
channel's connector, once the campaign is live. It uses no model: it is the agent whose
tool calls reach the outside world, so it acts only on content that passed the gate
(every ContentVariant exists because a policy decision or an approval cleared it) and
only if the content still matches the hash that was cleared."""

from __future__ import annotations

from agents import services
from agents.connectors import connector_for, content_key
from agents.domain.handoffs import DistributionV1, Placement
from agents.models import AgentRun
from campaigns.domain.phases import Phase
from campaigns.models import ContentStatus, ContentVariant
from campaigns.services import content_mark_published, content_matches_hash
from governance.domain.audit import Actor

from . import Specialist

PUBLISHING_PHASES = (Phase.EXECUTION, Phase.MONITORING)
LABEL = "no model: connectors only"


class Distribution(Specialist):
    name = "distribution"
    role = "Publishes what policy allows or approvals cleared, through connectors"

    def produce(self, run: AgentRun) -> tuple[DistributionV1 | None, services.Usage]:
        usage = services.Usage(model_label=LABEL)
        if run.campaign.phase not in PUBLISHING_PHASES:
            return None, usage  # cleared content waits for launch
        placements = []
        cleared = ContentVariant.objects.filter(
            campaign=run.campaign, status=ContentStatus.APPROVED
        ).order_by("pk")
        for variant in cleared:
            if not content_matches_hash(variant):
                continue  # refused again on commit, with the reason recorded
            connector = connector_for(variant.channel, campaign=run.campaign)
            placements.append(
                Placement(
                    content_id=variant.pk,
                    channel=variant.channel,
                    connector=connector.name,
                    # Idempotent: a retried run gets the same placement back.
                    external_id=connector.publish(
                        key=content_key(variant.pk),
                        channel=variant.channel,
                        headline=variant.headline,
                        body=variant.body,
                    ),
                )
            )
        if not placements:
            return None, usage
        return DistributionV1(campaign_id=run.campaign_id, placements=placements), usage

    def commit(self, run: AgentRun, placed: DistributionV1 | None) -> bool:
        if placed is None:
            return True
        handed = services.hand_on(run, "distribution", placed)
        if handed is None:
            return False
        actor = Actor.for_agent(self.name)
        for placement in placed.placements:
            content_mark_published(
                variant_id=placement.content_id,
                connector=placement.connector,
                placement_id=placement.external_id,
                actor=actor,
            )
        return True
