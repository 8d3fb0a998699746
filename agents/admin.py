from django.contrib import admin

from governance.admin import ReadOnlyAdmin

from .models import AgentRun, Handoff


@admin.register(AgentRun)
class AgentRunAdmin(ReadOnlyAdmin):
    list_display = [
        "agent",
        "campaign",
        "status",
        "model_label",
        "queued_at",
        "started_at",
        "finished_at",
    ]
    list_filter = ["agent", "status"]
    list_select_related = ["campaign"]


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdmin):
    list_display = ["kind", "campaign", "status", "schema_version", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["campaign"]
