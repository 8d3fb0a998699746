"""Django admin. Brands are configured here (including who is assigned to each brand,
via guardian's "Object permissions" page); briefs and campaigns are read-only here
because their changes go through services that audit them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from approvals.domain.audit import Actor

from . import services
from .models import Brand, Brief, Campaign


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Brand)
class BrandAdmin(GuardedModelAdmin):
    list_display = ["name", "slug", "currency", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request: Any, obj: Brand, form: Any, change: bool) -> None:
        services.brand_save(
            brand=obj, actor=Actor.for_user(request.user), changed=form.changed_data
        )

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # brands carry campaigns and audit history


@admin.register(Brief)
class BriefAdmin(ReadOnlyAdmin):
    list_display = ["title", "brand", "budget", "deadline", "is_template", "created_by"]
    list_filter = ["brand", "is_template", "success_metric"]
    search_fields = ["title", "objective"]


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ["name", "brand", "phase", "owner", "budget_total", "budget_consumed"]
    list_filter = ["brand", "phase", "escalation_state"]
    search_fields = ["name"]
    list_select_related = ["brand", "owner"]
