"""The API's shapes: how resources are written out and what requests must look like.
Only shape is checked here; the domain rules (``campaigns.domain.briefs``…) and the
services decide the rest, exactly as for the web forms."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from campaigns.domain.briefs import CHANNELS, LIMITS, LIST_FIELDS, SUCCESS_METRICS, list_problems
from campaigns.domain.inputs import is_ascii_integer, is_ascii_number
from campaigns.models import PHASE_CHOICES, Brief, Campaign

from .domain.tokens import SCOPES
from .models import ApiToken


class _CampaignList(serializers.ListSerializer):
    """Reads every listed campaign's next action in one batch (a fixed number of
    queries for the whole page), as the tower does."""

    def to_representation(self, data):
        from controltower.selectors import campaign_next_actions

        campaigns = list(data.all() if hasattr(data, "all") else data)
        for campaign, action in zip(
            campaigns, campaign_next_actions(campaigns).values(), strict=True
        ):
            campaign._next_action = action
        return super().to_representation(campaigns)


class CampaignSerializer(serializers.ModelSerializer):
    brand = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    next_action = serializers.SerializerMethodField(
        help_text="What the campaign waits for now, derived from its state (never stale)."
    )
    owner = serializers.CharField(source="owner.username", read_only=True)
    brief_id = serializers.IntegerField(read_only=True)
    resume_phase = serializers.ChoiceField(
        choices=PHASE_CHOICES,
        allow_blank=True,
        read_only=True,
        help_text="Where a paused or escalated campaign resumes; blank when there is none.",
    )
    open_flags = serializers.SerializerMethodField()
    pending_approvals = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "brand",
            "brief_id",
            "phase",
            "resume_phase",
            "owner",
            "next_action",
            "budget_total",
            "budget_consumed",
            "daily_cap",
            "sla_status",
            "escalation_state",
            "launched_at",
            "phase_changed_at",
            "open_flags",
            "pending_approvals",
        ]
        read_only_fields = fields
        list_serializer_class = _CampaignList

    def get_next_action(self, campaign: Campaign) -> str:
        action = getattr(campaign, "_next_action", None)
        if action is None:
            from controltower.selectors import campaign_next_actions

            action = campaign_next_actions([campaign])[campaign.pk]
        return action

    def get_open_flags(self, campaign: Campaign) -> int:
        return getattr(campaign, "open_flag_count", 0)

    def get_pending_approvals(self, campaign: Campaign) -> int:
        return getattr(campaign, "pending_approval_count", 0)


class PhaseChangeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why (required to pause or resume).")


class BriefSerializer(serializers.ModelSerializer):
    brand = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    campaign_id = serializers.SerializerMethodField()

    class Meta:
        model = Brief
        fields = [
            "id",
            "brand",
            "title",
            "objective",
            "audience",
            "tone",
            "assets",
            "offer",
            "required_claims",
            "prohibited_claims",
            "channels",
            "budget",
            "daily_cap",
            "deadline",
            "success_metric",
            "success_target",
            "escalation_criteria",
            "sla_draft_hours",
            "sla_qa_pass_pct",
            "sla_policy_escalation_minutes",
            "sla_pacing_tolerance_pct",
            "is_template",
            "created_at",
            "campaign_id",
        ]
        read_only_fields = fields

    def get_campaign_id(self, brief: Brief) -> int | None:
        return brief.campaigns.values_list("pk", flat=True).first()


def _text(field: str, **kwargs: Any) -> serializers.CharField:
    """A text of the brief, bounded by ``campaigns.domain.briefs.LIMITS``."""
    if "required" in kwargs:
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("default", "")
    return serializers.CharField(max_length=LIMITS[field].chars, **kwargs)


def _lines(field: str, child: serializers.Field | None = None, **kwargs: Any) -> Any:
    """A list of the brief, bounded by ``LIMITS`` (items, and characters per item)."""
    limit = LIMITS[field]
    return serializers.ListField(
        child=child or serializers.CharField(max_length=limit.chars),
        max_length=limit.items,
        **kwargs,
    )


class AsciiDecimalField(serializers.DecimalField):
    """A JSON number, or a string of plain ASCII digits: DRF (like Python) also reads
    "٣٠٠٠" and "1_000" (``campaigns.domain.inputs``)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not is_ascii_number(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


class AsciiIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, str) and not is_ascii_integer(data.strip()):
            self.fail("invalid")
        if isinstance(data, float) and not data.is_integer():
            self.fail("invalid")
        return super().to_internal_value(data)


class BriefCreateSerializer(serializers.Serializer):
    """A brief as the API takes it: the form's fields and limits, and nothing else — an
    unknown field is refused by name, never silently dropped (a typo such as
    ``prohibited_claim`` would otherwise lose the claim the author meant to ban)."""

    brand = serializers.SlugField(max_length=60, help_text="The brand's slug.")
    title = _text("title")
    objective = _text("objective")
    audience = _text("audience", required=False)
    tone = _text("tone", required=False)
    assets = _lines("assets", required=False, default=list)
    offer = _text("offer", required=False)
    required_claims = _lines("required_claims", required=False, default=list)
    prohibited_claims = _lines("prohibited_claims", required=False, default=list)
    channels = _lines(
        "channels",
        child=serializers.ChoiceField(choices=list(CHANNELS)),
        min_length=1,
        help_text="Each known channel at most once.",
    )
    budget = AsciiDecimalField(max_digits=12, decimal_places=2)
    daily_cap = AsciiDecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, default=None
    )
    deadline = serializers.DateField()
    success_metric = serializers.ChoiceField(choices=list(SUCCESS_METRICS))
    success_target = AsciiDecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, default=None
    )
    escalation_criteria = _text("escalation_criteria", required=False)
    sla_draft_hours = AsciiIntegerField(min_value=1, max_value=720, default=2)
    sla_qa_pass_pct = AsciiIntegerField(min_value=1, max_value=100, default=95)
    sla_policy_escalation_minutes = AsciiIntegerField(min_value=1, max_value=10080, default=10)
    sla_pacing_tolerance_pct = AsciiIntegerField(min_value=1, max_value=100, default=10)
    as_template = serializers.BooleanField(default=False)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [name for name in data if name not in self.fields]
            if unknown:
                raise serializers.ValidationError(_unknown_fields(unknown))
            # TRICKY: a list is counted, and its items measured, before DRF reads them
            # one by one: 100,000 channels would otherwise be 100,000 errors, each
            # echoing its value back ("“…” is not a valid choice").
            errors = {
                field: problems
                for field in LIST_FIELDS
                if isinstance(data.get(field), list)
                and (problems := list_problems(field, data[field]))
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _unknown_fields(names: list[str]) -> dict[str, list[str]]:
    """Each unknown field by name (the first 20, each name cut short)."""
    shown = {
        (name if len(name) <= 60 else name[:59] + "…"): [
            "Unknown field: a brief has no such field, so nothing was saved."
        ]
        for name in names[:20]
    }
    if len(names) > 20:
        shown["non_field_errors"] = [f"…and {len(names) - 20:,} more unknown fields."]
    return shown


class BriefCreatedSerializer(serializers.Serializer):
    brief_id = serializers.IntegerField()
    campaign_id = serializers.IntegerField(allow_null=True)
    phase = serializers.CharField(allow_null=True)


class ApprovalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign_id = serializers.IntegerField()
    brand = serializers.CharField(source="brand.slug")
    action_type = serializers.CharField()
    queue_role = serializers.CharField()
    summary = serializers.CharField()
    status = serializers.CharField()
    requested_by_agent = serializers.CharField()
    is_recommendation = serializers.BooleanField()
    payload = serializers.JSONField()
    content_hash = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    evidence = serializers.JSONField()
    why = serializers.CharField(source="decision.reason", allow_null=True, default=None)
    rule = serializers.CharField(source="decision.rule", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decision_note = serializers.CharField()


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject", "request_changes"])
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    edited_payload = serializers.DictField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Approve an edited version instead (the edit and its size are recorded).",
    )


class MemoryEntrySerializer(serializers.Serializer):
    ref = serializers.CharField()
    kind = serializers.CharField()
    text = serializers.CharField()
    evidence = serializers.JSONField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class MemoryEntryCreateSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=40)
    text = serializers.CharField(max_length=1000)
    evidence = serializers.DictField(required=False, default=dict)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class TokenSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "owner",
            "scopes",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SCOPES)), min_length=1, max_length=3
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(help_text="Shown once: only its hash is kept.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    brands = serializers.ListField(child=serializers.CharField())
    scopes = serializers.ListField(child=serializers.CharField(), allow_null=True)


class TelemetryEventSerializer(serializers.Serializer):
    """One reported row (documented here; the service checks each row itself, with row
    numbers, so a bad batch is refused whole with every problem listed)."""

    event_id = serializers.CharField(max_length=100)
    campaign_id = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=list(CHANNELS))
    variant = serializers.CharField(max_length=64, required=False)
    occurred_at = serializers.DateTimeField()
    impressions = serializers.IntegerField(min_value=0, required=False)
    clicks = serializers.IntegerField(min_value=0, required=False)
    conversions = serializers.IntegerField(min_value=0, required=False)
    spend = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    reach = serializers.IntegerField(min_value=0, required=False)
    leads = serializers.IntegerField(min_value=0, required=False)
    qualified_leads = serializers.IntegerField(min_value=0, required=False)
    link_checks = serializers.IntegerField(min_value=0, required=False)
    link_failures = serializers.IntegerField(min_value=0, required=False)
    complaints = serializers.IntegerField(min_value=0, required=False)


class TelemetryBatchSerializer(serializers.Serializer):
    brand = serializers.SlugField(
        required=False, help_text="With a personal token: the brand (an ingestion token has one)."
    )
    events = TelemetryEventSerializer(many=True)


class TelemetryResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    stored = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    flags = serializers.ListField(child=serializers.IntegerField())


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    errors = serializers.JSONField(required=False)
