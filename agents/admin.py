from typing import Any

from django.contrib import admin

from .models import AgentRun, Handoff


class ReadOnlyAdmin(admin.ModelAdmin):
    """Agent work is written by agents through services; here it is only read."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AgentRun)
class AgentRunAdmin(ReadOnlyAdmin):
    list_display = ["agent", "campaign", "status", "model_label", "started_at", "finished_at"]
    list_filter = ["agent", "status"]
    list_select_related = ["campaign"]


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdmin):
    list_display = ["kind", "campaign", "status", "schema_version", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["campaign"]
