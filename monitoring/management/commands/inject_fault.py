"""``python manage.py inject_fault CAMPAIGN KIND [--hours H] [--channel C] [--variant V]
[--severity S]`` — make the sandbox market misbehave on a campaign, as from the admin."""

from django.core.management.base import BaseCommand, CommandError

from governance.domain.errors import DomainError
from monitoring.services.sandbox import FAULT_KINDS, fault_inject


class Command(BaseCommand):
    help = "Inject a fault into the sandbox market for one campaign."

    def add_arguments(self, parser):
        parser.add_argument("campaign", type=int, help="The campaign's id.")
        parser.add_argument("kind", choices=FAULT_KINDS)
        parser.add_argument("--hours", type=float, default=6.0, help="How long (default 6).")
        parser.add_argument("--channel", default="", help="Only this channel.")
        parser.add_argument("--variant", default="", help="Only this variant (e.g. #12).")
        parser.add_argument("--severity", type=float, default=None)

    def handle(self, *args, campaign, kind, hours, channel, variant, severity, **options):
        try:
            fault = fault_inject(
                campaign_id=campaign,
                kind=kind,
                hours=hours,
                channel=channel,
                variant=variant,
                severity=severity,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        where = f" on {channel}{' ' + variant if variant else ''}" if channel else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{kind.replace('_', ' ').capitalize()}{where} for campaign {campaign} "
                f"until {fault.ends_at:%Y-%m-%d %H:%M} (severity {fault.severity:g})."
            )
        )
