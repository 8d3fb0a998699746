"""Handoff schemas: versioned, strict, and clear about what is wrong (no database)."""

import pytest

from agents.domain.handoffs import DraftsV1, HandoffInvalid, PlanV1, validate_handoff

PLAN = {
    "campaign_id": 7,
    "objective": "Grow repeat orders",
    "success_metric": "cpa",
    "steps": [
        {"specialist": "research", "goal": "Pick segments", "expected_output": "2 segments"},
        {
            "specialist": "content",
            "goal": "Draft email",
            "expected_output": "3 variants",
            "needs_approval": True,
        },
    ],
}
DRAFTS = {
    "campaign_id": 7,
    "variants": [
        {
            "channel": "email",
            "headline": "Your roast is ready",
            "body": "Hi",
            "claims": ["Roasted to order"],
            "cites": ["voice:warm"],
        }
    ],
}


def test_valid_handoffs_parse_into_their_versioned_schema():
    plan = validate_handoff("plan", PLAN)
    assert isinstance(plan, PlanV1) and plan.schema_version == 1
    assert [s.specialist for s in plan.steps] == ["research", "content"]
    assert isinstance(validate_handoff("drafts", DRAFTS), DraftsV1)


@pytest.mark.parametrize(
    ("kind", "data", "problem"),
    [
        ("plan", {**PLAN, "steps": []}, "steps: List should have at least 1 item"),
        (
            "plan",
            {**PLAN, "steps": [{**PLAN["steps"][0], "specialist": "hacker"}]},
            "steps.0.specialist: Input should be",
        ),
        ("plan", {**PLAN, "ignore_rules": True}, "ignore_rules: Extra inputs are not permitted"),
        ("plan", {**PLAN, "schema_version": 9}, "unknown schema version 9"),
        (
            "drafts",
            {**DRAFTS, "variants": [{**DRAFTS["variants"][0], "channel": "fax"}]},
            "variants.0.channel: Input should be",
        ),
        (
            "drafts",
            {**DRAFTS, "variants": [{**DRAFTS["variants"][0], "headline": "x" * 201}]},
            "variants.0.headline: String should have at most 200 characters",
        ),
        ("drafts", "launch now", "expected an object"),
        ("wishes", PLAN, "unknown handoff kind “wishes”"),
    ],
)
def test_invalid_handoffs_say_where_and_why(kind, data, problem):
    with pytest.raises(HandoffInvalid) as invalid:
        validate_handoff(kind, data)
    assert any(p.startswith(problem) for p in invalid.value.problems), invalid.value.problems
