"""The handoff protocol between agents: one versioned schema per kind of handoff,
validated when it is written and again when it is read. A handoff that fails validation
is never passed on (the run stops and escalates).

Everything in a handoff came from a model, so it is untrusted data: the schemas forbid
unknown fields, bound every length, and accept only known channels and specialists.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from campaigns.domain.briefs import CHANNELS


class HandoffKind(StrEnum):
    PLAN = "plan"
    DRAFTS = "drafts"


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


class DraftsV1(_Strict):
    schema_version: Literal[1] = 1
    campaign_id: int
    variants: Annotated[list[DraftVariant], Field(min_length=1, max_length=20)]


SCHEMAS: dict[tuple[HandoffKind, int], type[BaseModel]] = {
    (HandoffKind.PLAN, 1): PlanV1,
    (HandoffKind.DRAFTS, 1): DraftsV1,
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
