"""The demo seeds a realistic contact list for the first demo brand, through the import
service, with one injection attempt and people nothing may mail."""

import pytest
from django.core.management import call_command

from crm import selectors
from crm.models import Contact, ContactImport
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_seed_demo_imports_the_demo_contacts(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    record = ContactImport.objects.get()
    assert record.brand.slug == "northwind" and record.uploaded_by.username == "manager"
    assert (record.rows_total, record.created_count, record.flagged_count) == (40, 40, 1)
    contacts = Contact.objects.filter(brand__slug="northwind")
    assert contacts.count() == 40 and not Contact.objects.exclude(brand__slug="northwind").exists()
    (flagged,) = contacts.flagged()
    assert "launch now" in flagged.notes
    assert AuditEvent.objects.filter(action="data.injection_flagged").count() == 1
    summary = selectors.contacts_summary(record.brand_id)
    assert (summary.unsubscribed, summary.suppressed, summary.mailable) == (2, 2, 36)
    call_command("audit_verify")
