"""The data migration copies each brand's voice rules into its memory, audited."""

from importlib import import_module

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from governance.models import AuditEvent
from memory.models import MemoryEntry
from tests.factories import BrandFactory

from .builders import add

pytestmark = pytest.mark.django_db
migration = import_module("memory.migrations.0002_voice_rules_into_memory")


def historical_apps():
    """The models as the migration saw them (the audit trail was approvals' then)."""
    state = MigrationLoader(connection).project_state(("memory", "0002_voice_rules_into_memory"))
    return state.apps


def test_voice_rules_become_voice_rule_entries_once(manager, brand_a):
    add(brand_a, manager, text="Never snobbish.")  # already in memory: not copied again
    brand_a.voice_rules = ["  Warm,   plain-spoken. ", "never snobbish", ""]
    brand_a.save()
    quiet = BrandFactory(voice_rules=[])

    apps = historical_apps()
    migration.copy_voice_rules(apps, None)
    migration.copy_voice_rules(apps, None)  # running again adds nothing

    texts = list(
        MemoryEntry.objects.filter(brand=brand_a).order_by("pk").values_list("text", flat=True)
    )
    assert texts == ["Never snobbish.", "Warm, plain-spoken."]
    imported = MemoryEntry.objects.get(text="Warm, plain-spoken.")
    version = imported.versions.get()
    assert (imported.kind, imported.version, version.changed_by_agent) == (
        "voice_rule",
        1,
        "system:voice-rules-import",
    )
    assert not MemoryEntry.objects.filter(brand=quiet).exists()
    event = AuditEvent.objects.get(action="memory.voice_rules_imported")
    assert (event.brand_id, event.data["refs"]) == (brand_a.pk, [imported.ref])
    call_command("audit_verify")  # the events it appended keep the hash chain intact
