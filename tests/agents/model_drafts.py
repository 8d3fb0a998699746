"""A real (fake) language model that writes the content agent's drafts, for tests that
need copy the offline composer would never write (a prohibited claim, the brief's
objective pasted into an ad)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agents.models import AgentRun, RunStatus
from agents.specialists import run_specialist

from .fake_llm import FakeLLMServer, fake_openai_server, tool_output


def draft(channel: str, headline: str, body: str, claims: list[str] | None = None) -> dict:
    return {"channel": channel, "headline": headline, "body": body, "claims": claims or []}


@contextmanager
def model_writes(settings: Any, variants: list[dict]) -> Iterator[FakeLLMServer]:
    """While open, the agents' model is a fake OpenAI-compatible server that answers
    every request with ``variants`` as the drafts of the campaign that asked."""
    with fake_openai_server() as fake:
        fake.script(
            [],
            then=tool_output(
                lambda request: {
                    "campaign_id": request.data["brief"]["campaign_id"],
                    "variants": variants,
                }
            ),
        )
        settings.LLM_PROVIDER, settings.LLM_MODEL = "openai", "fake-model"
        settings.LLM_BASE_URL, settings.LLM_API_KEY = fake.base_url, "test-key"
        yield fake


def drain_until(agent: str, limit: int = 20) -> AgentRun:
    """Run queued runs (on the offline composer) until ``agent``'s run is next; it."""
    for _ in range(limit):
        run = AgentRun.objects.filter(status=RunStatus.QUEUED).order_by("queued_at", "id").first()
        assert run is not None, f"nothing queued before the {agent} run"
        if run.agent == agent:
            return run
        run_specialist(run_id=run.pk)
    raise AssertionError(f"no {agent} run after {limit} runs")
