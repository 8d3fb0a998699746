from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.demo import seed_demo
from campaigns.models import Brand
from crm.demo import seed_demo_contacts
from memory.demo import seed_brand_memory


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
        today = timezone.localdate()
        logins = seed_demo(today=today)
        seed_brand_memory(today=today)
        seed_demo_contacts()
        self.stdout.write(self.style.SUCCESS("Demo seeded. Logins:"))
        for login in logins:
            self.stdout.write(f"  {login.role.value:<18} {login.username} / {login.password}")
