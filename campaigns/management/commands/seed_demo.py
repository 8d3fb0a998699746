from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.demo import seed_demo
from campaigns.models import Brand


class Command(BaseCommand):
    help = (
        "Seed demo brands, a login per role and a dozen campaigns (DEBUG on, empty database only)."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates logins with published passwords, so it only runs with DEBUG on."
            )
        if Brand.objects.exists():
            self.stdout.write("The database already has data; demo not seeded.")
            return
        logins = seed_demo(today=timezone.localdate())
        self.stdout.write(self.style.SUCCESS("Demo seeded. Logins:"))
        for login in logins:
            self.stdout.write(f"  {login.role.value:<18} {login.username} / {login.password}")
