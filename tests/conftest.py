from pathlib import Path

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from governance.domain.roles import Role

from .factories import BrandFactory, CampaignFactory, UserFactory


def _audit_maintenance(sender, connection, **kwargs):
    """TRICKY: Django empties the tables between transactional tests with TRUNCATE, which
    the audit trail refuses (approvals/0014) unless a session says it is maintenance."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET controltower.audit_maintenance = 'on'")


connection_created.connect(_audit_maintenance)


@pytest.fixture(autouse=True, scope="session")
def _tests_run_on_postgresql(django_db_setup, django_db_blocker):
    """Tests prove behaviour on the production database engine, never on SQLite."""
    assert connection.vendor == "postgresql", (
        "Tests run on PostgreSQL: set DATABASE_URL (make test points it at 127.0.0.1:5432)."
    )


@pytest.fixture
def brand_a(db):
    return BrandFactory(name="Brand A", slug="brand-a")


@pytest.fixture
def brand_b(db):
    return BrandFactory(name="Brand B", slug="brand-b")


@pytest.fixture
def manager(brand_a, brand_b):
    return UserFactory(username="manager", role=Role.MANAGER, brands=[brand_a, brand_b])


@pytest.fixture
def legal_a(brand_a):
    """A legal reviewer assigned to brand A only."""
    return UserFactory(username="legal-a", role=Role.LEGAL, brands=[brand_a])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role=Role.ADMIN, is_staff=True)


@pytest.fixture
def campaign_a(brand_a, manager):
    return CampaignFactory(brief__brand=brand_a, brief__created_by=manager, name="A campaign")


@pytest.fixture
def campaign_b(brand_b, manager):
    return CampaignFactory(brief__brand=brand_b, brief__created_by=manager, name="B campaign")


@pytest.fixture
def login(client):
    def _login(user):
        # force_login: django-axes (rightly) refuses authenticate() calls without a request.
        client.force_login(user)
        return client

    return _login


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# As root in a container, without network: no sandbox, no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def artifacts_dir():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make test` installs it."
    # TRICKY: Playwright's sync API keeps an event loop in the main thread, and Django
    # then refuses ORM calls from it. Nothing runs concurrently here, so allow them while
    # the browser lives (module scope keeps the allowance out of other tests).
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
