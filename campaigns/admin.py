"""Django admin. Brands are configured here (including who is assigned to each brand,
via guardian's "Object permissions" page); briefs and campaigns are read-only here
because their changes go through services that audit them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from governance.admin import ReadOnlyAdmin
from governance.domain.audit import Actor
from governance.services import brand_permissions_change

from . import services
from .models import Brand, Brief, Campaign, PerformanceSample


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

    # Guardian's object-permission pages save through our audited service, so granting
    # or revoking a brand from here is in the audit trail like every other change.
    def get_obj_perms_manage_user_form(self, request: Any) -> type:
        return _audited(super().get_obj_perms_manage_user_form(request), request, "user")

    def get_obj_perms_manage_group_form(self, request: Any) -> type:
        return _audited(super().get_obj_perms_manage_group_form(request), request, "group")


def _audited(form_class: type, request: Any, assignee_attr: str) -> type:
    actor = Actor.for_user(request.user)

    class AuditedObjectPermissionsForm(form_class):  # type: ignore[misc, valid-type]
        def save_obj_perms(self) -> None:
            chosen = set(self.cleaned_data[self.get_obj_perms_field_name()])
            offered = {choice[0] for choice in self.get_obj_perms_field_choices()}
            held = set(self.get_obj_perms_field_initial())
            brand_permissions_change(
                brand=self.obj,
                assignee=getattr(self, assignee_attr),
                actor=actor,
                add=chosen - held,
                remove=(offered - chosen) & held,
            )

    return AuditedObjectPermissionsForm


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


@admin.register(PerformanceSample)
class PerformanceSampleAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "bucket_start", "impressions", "clicks", "conversions", "spend"]
    list_select_related = ["campaign"]
    date_hierarchy = "bucket_start"
