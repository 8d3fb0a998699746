"""The public API (/api/v1/): thin adapters over the same selectors, policies and services
as the web UI — so a token can never do what its owner could not do in the browser, and
every write is audited exactly as there. Scopes (read, write, approve) narrow a token
further."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals.selectors import queue_for_user
from approvals.services import approval_decide
from campaigns import services as campaign_services
from campaigns.domain.briefs import BriefSpec
from campaigns.domain.phases import Phase
from campaigns.models import Brand
from campaigns.selectors import campaigns_for_user
from governance import exports as audit_exports
from governance import policies
from governance.domain.audit import Actor
from integrations import exports
from integrations.views import streamed
from memory.models import MemoryEntry
from memory.selectors import active_memory_entries
from memory.services import memory_entry_create
from monitoring.models import IngestionToken, TelemetrySource
from monitoring.services import TelemetryInvalid, telemetry_ingest

from . import selectors
from . import serializers as s
from .auth import ApiTokenAuthentication, HasScope, scopes_of
from .ingestion import IngestionTokenAuthentication
from .tokens import api_token_create, api_token_revoke

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="The request is not valid."),
    401: OpenApiResponse(s.ErrorSerializer, description="No valid token or session."),
    403: OpenApiResponse(s.ErrorSerializer, description="Not allowed (role, brand or scope)."),
    404: OpenApiResponse(s.ErrorSerializer, description="No such resource (for you)."),
    409: OpenApiResponse(s.ErrorSerializer, description="Not in this state."),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in (401, 403, *codes)}


class Base(APIView):
    permission_classes = [IsAuthenticated, HasScope]
    scopes = {"GET": "read"}


# --- Who am I --------------------------------------------------------------------------


class MeView(Base):
    @extend_schema(responses={200: s.MeSerializer, **errors()}, summary="Who the token acts for")
    def get(self, request: Any) -> Response:
        user = request.user
        return Response(
            s.MeSerializer(
                {
                    "username": user.get_username(),
                    "roles": sorted(r.value for r in policies.roles_of(user)),
                    "brands": selectors.brand_slugs_visible_to(user),
                    "scopes": scopes_of(request),
                }
            ).data
        )


# --- Campaigns -------------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter("brand", str, description="Only this brand (slug)."),
        OpenApiParameter("phase", str, enum=[p.value for p in Phase]),
    ],
    responses={200: s.CampaignSerializer(many=True), **errors(400)},
    summary="Campaigns you may see",
)
class CampaignList(generics.ListAPIView):
    permission_classes = [IsAuthenticated, HasScope]
    scopes = {"GET": "read"}
    serializer_class = s.CampaignSerializer

    def get_queryset(self):
        brand = self.request.query_params.get("brand")
        phase = self.request.query_params.get("phase")
        if phase is not None and phase not in Phase.__members__.values():
            raise ValidationError({"phase": [f"Choose from {', '.join(Phase)}."]})
        return selectors.campaigns_for_api(self.request.user, brand=brand, phase=phase)


class CampaignDetail(Base):
    @extend_schema(responses={200: s.CampaignSerializer, **errors(404)}, summary="One campaign")
    def get(self, request: Any, pk: int) -> Response:
        campaign = get_object_or_404(selectors.campaigns_for_api(request.user), pk=pk)
        return Response(s.CampaignSerializer(campaign).data)


class _PhaseChange(Base):
    scopes = {"POST": "write"}
    target = ""

    def post(self, request: Any, pk: int) -> Response:
        campaign = get_object_or_404(campaigns_for_user(request.user), pk=pk)
        body = s.PhaseChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = self.target
        if target == "resume":
            if not campaign.resume_phase:
                phase = campaign.get_phase_display().lower()
                return Response(
                    {"error": f"A {phase} campaign has nothing to resume."},
                    status=status.HTTP_409_CONFLICT,
                )
            target = campaign.resume_phase
        campaign_services.campaign_transition_phase(
            campaign_id=campaign.pk,
            to_phase=target,
            actor=Actor.for_user(request.user),
            reason=body.validated_data["reason"],
        )
        return Response(
            s.CampaignSerializer(
                get_object_or_404(selectors.campaigns_for_api(request.user), pk=pk)
            ).data
        )


class CampaignPause(_PhaseChange):
    target = Phase.PAUSED

    @extend_schema(
        request=s.PhaseChangeSerializer,
        responses={200: s.CampaignSerializer, **errors(400, 404, 409)},
        summary="Pause a campaign (with a reason)",
    )
    def post(self, request: Any, pk: int) -> Response:
        return super().post(request, pk)


class CampaignResume(_PhaseChange):
    target = "resume"

    @extend_schema(
        request=s.PhaseChangeSerializer,
        responses={200: s.CampaignSerializer, **errors(400, 404, 409)},
        summary="Resume a paused or escalated campaign (with a reason)",
    )
    def post(self, request: Any, pk: int) -> Response:
        return super().post(request, pk)


# --- Briefs ----------------------------------------------------------------------------


class BriefList(generics.ListAPIView):
    permission_classes = [IsAuthenticated, HasScope]
    scopes = {"GET": "read", "POST": "write"}
    serializer_class = s.BriefSerializer

    def get_queryset(self):
        return selectors.briefs_for_api(self.request.user)

    @extend_schema(responses={200: s.BriefSerializer(many=True), **errors()}, summary="Briefs")
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.BriefCreateSerializer,
        responses={201: s.BriefCreatedSerializer, **errors(400)},
        summary="Submit a brief: its campaign starts in briefing and the agents start",
    )
    def post(self, request: Any) -> Response:
        body = s.BriefCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        brand = selectors.brand_for_user_by_slug(request.user, data.pop("brand"))
        if brand is None:
            raise ValidationError({"brand": ["No such brand (for you)."]})
        as_template = data.pop("as_template")
        brief, campaign = campaign_services.brief_create(
            author=request.user, brand=brand, spec=BriefSpec(**data), as_template=as_template
        )
        return Response(
            {
                "brief_id": brief.pk,
                "campaign_id": campaign.pk if campaign else None,
                "phase": campaign.phase if campaign else None,
            },
            status=status.HTTP_201_CREATED,
        )


# --- Approvals -------------------------------------------------------------------------


@extend_schema(
    parameters=[OpenApiParameter("decided", bool, description="The latest decided instead.")],
    responses={200: s.ApprovalSerializer(many=True), **errors()},
    summary="Your queues: what waits for you",
)
class ApprovalList(generics.ListAPIView):
    permission_classes = [IsAuthenticated, HasScope]
    scopes = {"GET": "read"}
    serializer_class = s.ApprovalSerializer

    def get_queryset(self):
        decided = self.request.query_params.get("decided", "").lower() in ("1", "true", "yes")
        return queue_for_user(self.request.user, decided=decided, limit=None)


class ApprovalDecide(Base):
    scopes = {"POST": "approve"}

    @extend_schema(
        request=s.DecideSerializer,
        responses={200: s.ApprovalSerializer, **errors(400, 404, 409)},
        summary="Approve, reject or send back a request in your queue",
    )
    def post(self, request: Any, pk: int) -> Response:
        approval = get_object_or_404(selectors.approvals_visible_to(request.user), pk=pk)
        body = s.DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decision = body.validated_data["decision"]
        decided = approval_decide(
            approval_id=approval.pk,
            user=request.user,
            approve=decision == "approve",
            request_changes=decision == "request_changes",
            note=body.validated_data["note"],
            edited_payload=body.validated_data["edited_payload"],
        )
        return Response(s.ApprovalSerializer(selectors.approval_as_decided(decided.pk)).data)


# --- Brand memory ----------------------------------------------------------------------


class MemoryEntries(Base):
    scopes = {"GET": "read", "POST": "write"}

    def _brand(self, request: Any, slug: str) -> Brand:
        return get_object_or_404(selectors.brands_visible_to(request.user), slug=slug)

    @extend_schema(
        responses={200: s.MemoryEntrySerializer(many=True), **errors(404)},
        summary="A brand's live memory",
    )
    def get(self, request: Any, slug: str) -> Response:
        brand = self._brand(request, slug)
        return Response([_entry(e) for e in active_memory_entries(brand.pk)])

    @extend_schema(
        request=s.MemoryEntryCreateSerializer,
        responses={201: s.MemoryEntrySerializer, **errors(400, 404)},
        summary="Add a fact to a brand's memory (managers and admins)",
    )
    def post(self, request: Any, slug: str) -> Response:
        brand = self._brand(request, slug)
        body = s.MemoryEntryCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = memory_entry_create(
            brand_id=brand.pk,
            kind=body.validated_data["kind"],
            text=body.validated_data["text"],
            evidence=body.validated_data["evidence"],
            note=body.validated_data["note"],
            actor=Actor.for_user(request.user),
        )
        return Response(_entry(entry), status=status.HTTP_201_CREATED)


def _entry(entry: MemoryEntry) -> dict[str, Any]:
    return s.MemoryEntrySerializer(
        {
            "ref": entry.ref,
            "kind": entry.kind,
            "text": entry.text,
            "evidence": entry.evidence,
            "status": entry.status,
            "version": entry.version,
            "updated_at": entry.updated_at,
        }
    ).data


# --- The audit trail -------------------------------------------------------------------


class AuditExport(Base):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "output",
                str,
                enum=["csv", "jsonl"],
                default="jsonl",
                description="JSON lines (to verify the hashes) or CSV (to read).",
            ),
            OpenApiParameter("brand", str, description="A brand's slug or id."),
            OpenApiParameter("since", str, description="An ISO date or time."),
            OpenApiParameter("until", str, description="An ISO date or time."),
            OpenApiParameter("campaign", int),
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
            **errors(400),
        },
        summary="Export the audit trail (admins): CSV or JSON lines, hash-chained",
    )
    def get(self, request: Any) -> StreamingHttpResponse:
        if not policies.is_admin(request.user):
            raise PermissionDenied("The audit trail is exported by admins.")
        # Not "format": DRF keeps that name for choosing a renderer.
        fmt = request.query_params.get("output", "jsonl")
        if fmt not in ("csv", "jsonl"):
            raise ValidationError({"output": ["Choose csv or jsonl."]})
        params = {k: v for k, v in request.query_params.items() if k != "output"}
        try:
            audit_filter = audit_exports.AuditFilter.from_params(params, user=request.user)
        except audit_exports.ExportFilterInvalid as invalid:
            raise ValidationError({k: [v] for k, v in invalid.errors.items()}) from invalid
        if fmt == "csv":
            chunks = exports.csv_chunks(
                exports.AUDIT_COLUMNS, exports.audit_rows_for_user(request.user, audit_filter)
            )
            content_type = "text/csv; charset=utf-8"
        else:
            chunks = _jsonl_chunks(audit_filter, request.user)
            content_type = "application/x-ndjson"
        response = StreamingHttpResponse(
            streamed(request._request, chunks), content_type=content_type
        )
        response["Content-Disposition"] = f'attachment; filename="audit.{fmt}"'
        response["Cache-Control"] = "private, no-store"
        return response


def _jsonl_chunks(audit_filter: audit_exports.AuditFilter, user: Any) -> Iterator[str]:
    """The lines ``manage.py audit_export --format jsonl`` writes, about 64 kB at a time."""
    rows = audit_exports.export_rows(audit_filter, user=user)
    return exports.chunked(audit_exports.jsonl_line(row) for row in rows)


# --- Telemetry -------------------------------------------------------------------------


#: The largest telemetry batch accepted in one request (a platform sends several).
MAX_TELEMETRY_BYTES = 16 * 1024 * 1024


class TelemetryEvents(APIView):
    """``POST /api/v1/telemetry/events``: a brand's ingestion token (a platform posting
    delivery), or a person's token with the write scope and the brand named."""

    authentication_classes = [
        IngestionTokenAuthentication,
        ApiTokenAuthentication,
        SessionAuthentication,
    ]
    permission_classes = [IsAuthenticated, HasScope]
    scopes = {"POST": "write"}

    @extend_schema(
        request=s.TelemetryBatchSerializer,
        responses={
            200: s.TelemetryResultSerializer,
            **errors(400),
            413: OpenApiResponse(s.ErrorSerializer, description="The batch is too large."),
        },
        summary="Report a batch of delivery (all or nothing, idempotent by event id)",
    )
    def post(self, request: Any) -> Response:
        length = request.headers.get("Content-Length") or "0"
        if not length.isdigit() or int(length) > MAX_TELEMETRY_BYTES:
            return Response(
                {"error": f"At most {MAX_TELEMETRY_BYTES // 2**20} MiB per batch; send several."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        body = request.data
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            raise ValidationError({"events": ['The body is {"events": [ … ]}.']})
        unknown = set(body) - {"events", "brand"}
        if unknown:
            raise ValidationError({k: ["Unknown field."] for k in sorted(unknown)})
        brand_id = request.auth.brand_id if isinstance(request.auth, IngestionToken) else None
        if brand_id is None:
            slug = body.get("brand")
            brand = selectors.brand_by_slug(slug if isinstance(slug, str) else "")
            if brand is None or not policies.can_upload_telemetry(request.user, brand):
                raise ValidationError({"brand": ["Name a brand you may post telemetry for."]})
            brand_id = brand.pk
        try:
            result = telemetry_ingest(
                brand_id=brand_id, items=body["events"], source=TelemetrySource.API
            )
        except TelemetryInvalid as invalid:
            return Response(
                {
                    "error": "Nothing was stored: the batch has errors.",
                    "errors": [
                        {"row": e.row, "field": e.field, "message": e.message}
                        for e in invalid.errors
                    ],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {
                "received": result.received,
                "stored": result.stored,
                "duplicates": result.duplicates,
                "flags": result.flags,
            }
        )


# --- Tokens ----------------------------------------------------------------------------


class Tokens(Base):
    scopes = {"GET": "read", "POST": "write"}

    @extend_schema(responses={200: s.TokenSerializer(many=True), **errors()}, summary="Your tokens")
    def get(self, request: Any) -> Response:
        tokens = selectors.tokens_of(request.user)
        return Response(s.TokenSerializer(tokens, many=True).data)

    @extend_schema(
        request=s.TokenCreateSerializer,
        responses={201: s.TokenCreatedSerializer, **errors(400)},
        summary="Make yourself a token (shown once)",
    )
    def post(self, request: Any) -> Response:
        body = s.TokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        scopes = body.validated_data["scopes"]
        held = scopes_of(request)
        if held is not None and not set(scopes) <= set(held):
            raise PermissionDenied("A token cannot make a token with more scopes than it has.")
        token, raw = api_token_create(
            owner=request.user,
            name=body.validated_data["name"],
            scopes=scopes,
            by=request.user,
            expires_at=body.validated_data["expires_at"],
        )
        data = s.TokenSerializer(token).data
        return Response({**data, "token": raw}, status=status.HTTP_201_CREATED)


class TokenRevoke(Base):
    scopes = {"DELETE": "write"}

    @extend_schema(responses={204: None, **errors(404)}, summary="Revoke a token")
    def delete(self, request: Any, pk: int) -> Response:
        token = get_object_or_404(selectors.tokens_manageable_by(request.user), pk=pk)
        api_token_revoke(token_id=token.pk, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
