"""Seed the demo: every app's part, in the product's own order (it composes them all,
so it lives with the tower)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from agents.demo import agents_follow_phase, seed_demo_agent_work, seed_demo_experiments
from campaigns.demo import seed_demo_briefs, seed_demo_people, seed_demo_story
from campaigns.models import Brand
from crm.demo import seed_demo_contacts
from memory.demo import seed_brand_memory
from monitoring.demo import seed_demo_incidents_and_proposals, seed_demo_monitoring


class Command(BaseCommand):
    help = (
        "Seed demo brands, a login per role and a dozen campaigns the agents have worked on "
        "(DEBUG on, empty database only)."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates logins with published passwords, so it only runs with DEBUG on."
            )
        if Brand.objects.exists():
            self.stdout.write("The database already has data; demo not seeded.")
            return
        today = timezone.localdate()
        # One transaction: a demo that fails half-way leaves an empty database, so the
        # next start seeds it again. The order is the product's own: briefs are submitted,
        # the brands' memory and contacts exist, the agents plan and draft, people clear
        # the drafts, then campaigns launch (and the agents publish) and live their story.
        with transaction.atomic():
            logins = seed_demo_people()
            seed_demo_briefs(today=today)
            seed_brand_memory(today=today)
            seed_demo_contacts()
            seed_demo_agent_work()
            seed_demo_story(after_step=agents_follow_phase)
            seed_demo_incidents_and_proposals()
            seed_demo_experiments()
            seed_demo_monitoring()
        self.stdout.write(self.style.SUCCESS("Demo seeded. Logins:"))
        for login in logins:
            self.stdout.write(f"  {login.role.value:<18} {login.username} / {login.password}")
