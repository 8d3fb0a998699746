"""Shared bits for the API tests: a token-carrying client and request bodies."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from api.tokens import api_token_create
from approvals.services import action_propose
from governance.domain.audit import Actor


class ApiClient:
    """Django's test client speaking JSON with ``Authorization: Bearer …``."""

    def __init__(self, raw_token: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw_token}"} if raw_token else {}

    def get(self, path: str, **params: Any):
        return self.client.get(path, params, headers=self.headers)

    def post(self, path: str, body: Any = None):
        return self.client.post(
            path, json.dumps(body or {}), content_type="application/json", headers=self.headers
        )

    def delete(self, path: str):
        return self.client.delete(path, headers=self.headers)


def token_for(user: Any, scopes=("read", "write", "approve"), **kwargs: Any) -> str:
    _, raw = api_token_create(owner=user, name="tests", scopes=scopes, by=user, **kwargs)
    return raw


def api_as(user: Any, scopes=("read", "write", "approve")) -> ApiClient:
    return ApiClient(token_for(user, scopes))


def brief_body(brand_slug: str, **changes: Any) -> dict[str, Any]:
    body = {
        "brand": brand_slug,
        "title": "Winter warmers",
        "objective": "Grow repeat orders by 15 %",
        "audience": "Lapsed subscribers",
        "channels": ["email", "social_ads"],
        "budget": "12000",
        "deadline": (timezone.localdate() + timedelta(days=20)).isoformat(),
        "success_metric": "cpa",
        "success_target": "25",
    }
    body.update(changes)
    return body


def propose_launch(campaign: Any, summary: str = "Launch", reason: str = "Ready") -> Any:
    """A launch the planner proposes through the real gate: held in the managers' queue."""
    return action_propose(
        campaign_id=campaign.pk,
        action="launch_campaign",
        payload={"reason": reason},
        actor=Actor.for_agent("planner"),
        summary=summary,
    ).approval
