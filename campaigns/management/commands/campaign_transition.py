from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from campaigns.services import campaign_transition_phase
from governance.domain.audit import Actor
from governance.domain.errors import DomainError


class Command(BaseCommand):
    help = "Move a campaign to another phase, as a named user or agent (audited like the UI)."

    def add_arguments(self, parser):
        parser.add_argument("campaign_id", type=int)
        parser.add_argument("phase")
        parser.add_argument("--reason", default="")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="username of the person acting")
        who.add_argument("--agent", help="name of the agent acting")

    def handle(self, *args, campaign_id, phase, reason, user, agent, **options):
        if user:
            try:
                actor = Actor.for_user(get_user_model().objects.get(username=user))
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user called “{user}”.") from None
        else:
            actor = Actor.for_agent(agent)
        try:
            campaign = campaign_transition_phase(
                campaign_id=campaign_id, to_phase=phase, actor=actor, reason=reason
            )
        except Campaign.DoesNotExist:
            raise CommandError(f"No campaign #{campaign_id}.") from None
        except DomainError as refused:
            raise CommandError(str(refused)) from refused
        self.stdout.write(f"{campaign.name} is now {campaign.get_phase_display().lower()}.")
