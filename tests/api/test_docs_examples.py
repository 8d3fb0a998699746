"""docs/API.md is executed: every ``sh`` block runs, in order, with bash and the real curl
against the app served by uvicorn, and must answer as documented — the status (2xx unless
the block says ``status=…``) and, where the docs show a JSON response, at least its keys
with the same values (``…`` stands for any value; ids and times are the test's)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from campaigns.models import Campaign
from governance.domain.roles import Role
from tests.factories import BrandFactory, CampaignFactory, UserFactory
from tests.stack import ROOT, asgi_server

from .helpers import propose_launch, token_for

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True, reset_sequences=True)]

DOC = ROOT / "docs" / "API.md"
BLOCK = re.compile(
    r"```sh(?P<info>[^\n]*)\n(?P<script>.*?)```(?:\s*```json\n(?P<json>.*?)```)?", re.S
)


def examples() -> list[tuple[str, str, str | None]]:
    return [(m["info"].strip(), m["script"], m["json"]) for m in BLOCK.finditer(DOC.read_text())]


def matches(documented, actual) -> bool:
    """``documented`` is ``actual`` with keys left out, lists cut short and "…" for any
    value (the docs show what matters, not every field)."""
    if documented == "…" or (isinstance(documented, str) and documented.endswith("…")):
        return isinstance(actual, str) and actual.startswith(documented[:-1])
    if isinstance(documented, dict):
        return isinstance(actual, dict) and all(
            k in actual and matches(v, actual[k]) for k, v in documented.items()
        )
    if isinstance(documented, list):
        if not isinstance(actual, list) or len(actual) < len(documented):
            return False
        return all(matches(d, a) for d, a in zip(documented, actual, strict=False))
    return documented == actual


@pytest.fixture
def world():
    brand = BrandFactory(slug="acme", name="Acme")  # id 1
    mia = UserFactory(username="mia", role=Role.MANAGER, brands=[brand])
    admin = UserFactory(username="ada", role=Role.ADMIN, is_staff=True)
    running = CampaignFactory(brief__brand=brand, brief__created_by=mia, name="Winter warmers")
    Campaign.objects.filter(pk=running.pk).update(phase="execution")
    waiting = CampaignFactory(brief__brand=brand, brief__created_by=mia, name="Spring sampler")
    launch = propose_launch(waiting, "Launch Spring sampler", reason="Plan and creative are ready")
    assert (running.pk, waiting.pk, launch.pk) == (1, 2, 1)  # the ids the docs use
    return {"TOKEN": token_for(mia), "ADMIN_TOKEN": token_for(admin)}


def test_the_docs_have_examples_for_every_endpoint():
    scripts = " ".join(script for _, script, _ in examples())
    for path in (
        "/me",
        "/briefs",
        "/campaigns?",
        "/campaigns/1/pause",
        "/campaigns/1/resume",
        "/approvals",
        "/approvals/1/decide",
        "/brands/acme/memory",
        "/telemetry/events",
        "/audit/export",
        "/tokens",
    ):
        assert f"$CCT/api/v1{path}" in scripts, path


def test_every_curl_example_in_the_api_docs_works_as_shown(tmp_path, world):
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        env = {"CCT": base_url, "PATH": "/usr/bin:/bin", **world}
        ran = 0
        for info, script, documented in examples():
            if info == "setup":
                assert "CCT=" in script and "TOKEN=" in script
                continue
            expected_status = int(info.removeprefix("status=")) if info else None
            run = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            where = (
                f"\n--- example:\n{script}\n--- stdout:\n{run.stdout}\n--- stderr:\n{run.stderr}"
            )
            if expected_status is None:
                assert run.returncode == 0, where
            else:
                # --fail-with-body: curl exits 22 on an HTTP error, printing the body.
                assert run.returncode == 22, where
                assert f"error: {expected_status}" in run.stderr, where
            body = run.stdout.strip()
            if documented:
                assert matches(json.loads(documented), json.loads(body)), where
            elif "output=csv" in script:
                assert body.startswith("seq,occurred_at,"), where
            elif "output=jsonl" in script:
                lines = [json.loads(line) for line in body.splitlines()]
                assert lines and all(line["action"].startswith("campaign.") for line in lines)
            elif "-X DELETE" in script:
                assert body == "", where
            else:
                json.loads(body)  # every other answer is JSON
            ran += 1
        assert ran == len([e for e in examples() if e[0] != "setup"]) >= 19
