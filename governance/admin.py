"""The audit trail in the admin, and the read-only base every app's admin uses."""

from typing import Any

from django.contrib import admin

from .models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that change only through audited services: the admin reads them."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit trail, read-only: nobody edits or deletes an event, admins included."""

    list_display = ["seq", "occurred_at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "brand"]
    search_fields = ["actor_label", "action", "object_id"]
    date_hierarchy = "occurred_at"
