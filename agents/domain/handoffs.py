"""The handoff protocol between agents: one versioned schema per kind of handoff,
validated when it is written and again when it is read. A handoff that fails validation
is never passed on (the run stops and escalates).

Everything in a handoff came from a model, so it is untrusted data: the schemas forbid
unknown fields, bound every length, and accept only known channels and specialists.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from campaigns.domain.briefs import CHANNELS


class HandoffKind(StrEnum):
    PLAN = "plan"
    RESEARCH = "research"
    DRAFTS = "drafts"
    EXPERIMENT = "experiment"
    DISTRIBUTION = "distribution"
    PERFORMANCE = "performance"
    CRM = "crm"
    REPORT = "report"


Specialist = Literal[
    "research", "content", "experimentation", "distribution", "performance", "crm", "reporting"
]
Channel = Literal[tuple(CHANNELS)]  # type: ignore[valid-type]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
ShortText = Annotated[str, Field(min_length=1, max_length=300)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class PlanStep(_Strict):
    specialist: Specialist
    goal: ShortText
    expected_output: ShortText
    needs_approval: bool = False


class PlanV1(_Strict):
    schema_version: Literal[1] = 1
    campaign_id: int
    objective: Text
    success_metric: ShortText
    steps: Annotated[list[PlanStep], Field(min_length=1, max_length=12)]


class DraftVariant(_Strict):
    channel: Channel
    headline: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=5000)]
    claims: Annotated[list[ShortText], Field(max_length=10)] = []
    # Brand-memory entries the draft used, so reviewers can see where it came from.
    cites: Annotated[list[ShortText], Field(max_length=20)] = []
    # The research segment it was written for.
    segment: Annotated[str, Field(max_length=300)] = ""


class DraftsV1(_Strict):
    schema_version: Literal[1] = 1
    campaign_id: int
    variants: Annotated[list[DraftVariant], Field(min_length=1, max_length=20)]


Ref = Annotated[str, Field(min_length=1, max_length=40)]


class Segment(_Strict):
    name: ShortText
    rationale: Text
    # How many of the brand's uploaded contacts fall in it (0 when none were uploaded).
    contacts: Annotated[int, Field(ge=0)] = 0
    cites: Annotated[list[Ref], Field(max_length=20)] = []


class ResearchV1(_Strict):
    """Who to talk to and why: the content agent writes for these segments."""

    schema_version: Literal[1] = 1
    campaign_id: int
    segments: Annotated[list[Segment], Field(min_length=1, max_length=5)]
    insights: Annotated[list[ShortText], Field(max_length=10)] = []


class Arm(_Strict):
    label: ShortText
    channel: Channel
    headline: Annotated[str, Field(min_length=1, max_length=200)]
    share: Annotated[float, Field(gt=0, le=1)]


class ExperimentV1(_Strict):
    """The test design the allocator runs: arms and their starting shares, the metric,
    how much data before any call, and when to stop or scale."""

    schema_version: Literal[1] = 1
    campaign_id: int
    primary_metric: ShortText
    arms: Annotated[list[Arm], Field(min_length=2, max_length=20)]
    minimum_sample_per_arm: Annotated[int, Field(ge=100, le=10_000_000)]
    stop_rule: ShortText
    scale_rule: ShortText

    @model_validator(mode="after")
    def _shares_add_up(self) -> ExperimentV1:
        if abs(sum(arm.share for arm in self.arms) - 1) > 0.001:
            raise ValueError("the arms' shares must add up to 1")
        return self


class Placement(_Strict):
    content_id: int
    channel: Channel
    connector: ShortText
    external_id: ShortText


class DistributionV1(_Strict):
    schema_version: Literal[1] = 1
    campaign_id: int
    placements: Annotated[list[Placement], Field(min_length=1, max_length=50)]


class Observation(_Strict):
    metric: ShortText
    value: float
    target: float | None = None
    verdict: Literal["on track", "watch", "off track"]
    note: ShortText


class PerformanceV1(_Strict):
    schema_version: Literal[1] = 1
    campaign_id: int
    observations: Annotated[list[Observation], Field(max_length=20)]
    summary: Text


class LeadScore(_Strict):
    contact_id: int
    score: Annotated[int, Field(ge=0, le=100)]
    segment: ShortText
    note: ShortText


class CrmV1(_Strict):
    """Scored and segmented leads, each with a note a salesperson can act on."""

    schema_version: Literal[1] = 1
    campaign_id: int
    scores: Annotated[list[LeadScore], Field(max_length=5000)]
    summary: ShortText


class ReportV1(_Strict):
    """A plain-language summary for leadership: what changed, why, what next."""

    schema_version: Literal[1] = 1
    campaign_id: int
    headline: ShortText
    what_changed: Annotated[list[ShortText], Field(min_length=1, max_length=8)]
    why: Annotated[list[ShortText], Field(min_length=1, max_length=8)]
    what_next: Annotated[list[ShortText], Field(min_length=1, max_length=8)]


SCHEMAS: dict[tuple[HandoffKind, int], type[BaseModel]] = {
    (HandoffKind.PLAN, 1): PlanV1,
    (HandoffKind.RESEARCH, 1): ResearchV1,
    (HandoffKind.DRAFTS, 1): DraftsV1,
    (HandoffKind.EXPERIMENT, 1): ExperimentV1,
    (HandoffKind.DISTRIBUTION, 1): DistributionV1,
    (HandoffKind.PERFORMANCE, 1): PerformanceV1,
    (HandoffKind.CRM, 1): CrmV1,
    (HandoffKind.REPORT, 1): ReportV1,
}


class HandoffInvalid(ValueError):
    """The handoff does not match its schema; ``problems`` says where and why."""

    def __init__(self, kind: str, problems: list[str]):
        self.kind, self.problems = kind, problems
        super().__init__(f"The {kind} handoff is invalid: " + "; ".join(problems))


def validate_handoff(kind: str, data: Any) -> BaseModel:
    """Parse ``data`` as a handoff of ``kind`` (its ``schema_version`` picks the schema)."""
    try:
        handoff_kind = HandoffKind(kind)
    except ValueError:
        raise HandoffInvalid(kind, [f"unknown handoff kind “{kind}”"]) from None
    if not isinstance(data, dict):
        raise HandoffInvalid(kind, ["expected an object"])
    version = data.get("schema_version", 1)
    schema = SCHEMAS.get((handoff_kind, version)) if isinstance(version, int) else None
    if schema is None:
        raise HandoffInvalid(kind, [f"unknown schema version {version!r}"])
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise HandoffInvalid(
            kind,
            [
                f"{'.'.join(str(p) for p in error['loc']) or 'handoff'}: {error['msg']}"
                for error in exc.errors()
            ],
        ) from None
