from django.contrib import admin

from governance.admin import ReadOnlyAdmin

from .models import Contact, ContactImport


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    """Read-only: contacts change through imports and the CRM agent, both audited."""

    list_display = ["email", "brand", "subscription", "suppressed", "lead_score", "segment"]
    list_filter = ["brand", "subscription", "suppressed", "segment"]
    list_select_related = ["brand"]
    search_fields = ["email", "name", "company"]


@admin.register(ContactImport)
class ContactImportAdmin(ReadOnlyAdmin):
    list_display = ["filename", "brand", "uploaded_by", "status", "rows_total", "flagged_count"]
    list_filter = ["status", "brand"]
    list_select_related = ["brand", "uploaded_by"]
    # An unconfirmed upload's text is personal data waiting for its uploader, not for admins.
    exclude = ["pending_text"]
