from django.contrib import admin

from governance.admin import ReadOnlyAdmin

from .models import Claim, MemoryEntry, MemoryVersion


@admin.register(MemoryEntry)
class MemoryEntryAdmin(ReadOnlyAdmin):
    """Read-only here: memory changes through its page (or an agent's gated proposal), so
    every change is versioned and audited."""

    list_display = ["ref", "brand", "kind", "text", "status", "version", "updated_at"]
    list_filter = ["kind", "status", "brand"]
    search_fields = ["text"]
    list_select_related = ["brand"]


@admin.register(MemoryVersion)
class MemoryVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "entry",
        "number",
        "status",
        "changed_by_user",
        "changed_by_agent",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["text", "change_note", "changed_by_agent"]
    list_select_related = ["entry", "changed_by_user"]


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    """Read-only here: claims are proposed and reviewed in the brand's claims registry."""

    list_display = ["ref", "brand", "wording", "status", "expires_on", "legal_owner"]
    list_filter = ["status", "brand"]
    search_fields = ["wording", "substantiation"]
    list_select_related = ["brand", "legal_owner"]
