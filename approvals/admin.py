from django.contrib import admin

from governance.admin import ReadOnlyAdmin

from .models import ApprovalRequest


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    """Read-only here: approval requests are decided in their queues, never in the admin."""

    list_display = ["campaign", "action_type", "queue_role", "status", "created_at"]
    list_filter = ["status", "queue_role", "action_type"]
    list_select_related = ["campaign"]
