from django.contrib import admin

from controltower.admin import ReadOnlyAdmin

from .models import ApprovalRequest, AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit trail, read-only: nobody edits or deletes an event, admins included."""

    list_display = ["seq", "occurred_at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "brand"]
    search_fields = ["actor_label", "action", "object_id"]
    date_hierarchy = "occurred_at"


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    """Read-only here: approval requests are decided in their queues, never in the admin."""

    list_display = ["campaign", "action_type", "queue_role", "status", "created_at"]
    list_filter = ["status", "queue_role", "action_type"]
    list_select_related = ["campaign"]
