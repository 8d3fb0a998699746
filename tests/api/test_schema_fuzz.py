"""The OpenAPI schema, fuzzed: schemathesis drives the running app (uvicorn on 127.0.0.1,
the test database) with generated requests — valid and invalid — for every operation, as
an admin and as a manager. No response may be a 5xx, and every response must match the
schema (status code, content type, body)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from campaigns.models import Campaign
from governance.domain.roles import Role
from tests.factories import BrandFactory, CampaignFactory, UserFactory
from tests.stack import ROOT, asgi_server

from .helpers import propose_launch, token_for

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


def config(tmp_path, people) -> str:
    """Real identifiers for the path parameters, mixed with generated ones: without them
    nearly every call to ``/brands/{slug}/…`` or ``/approvals/{id}/…`` is a 404 and the
    fuzzer never reaches the code behind it."""
    path = tmp_path / "schemathesis.toml"
    ids = ", ".join(str(i) for i in people["ids"])
    path.write_text(
        f"""
[dictionaries.slugs]
values = ["acme"]
[dictionaries.ids]
values = [{ids}]
[parameters]
"path.slug" = {{ dictionary = "slugs", probability = 0.7 }}
"path.id" = {{ dictionary = "ids", probability = 0.7 }}
"""
    )
    return str(path)


def schemathesis(
    base_url: str, token: str, report: str, config_file: str, *only: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            config_file,
            "run",
            f"{base_url}/api/v1/schema/?format=json",
            "--url",
            base_url,
            "--checks",
            CHECKS,
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            "12",
            "--seed",
            "8",  # the same requests every run: a red build is reproducible
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-database",
            "none",
            "--request-timeout",
            "20",
            "--workers",
            "1",
            "--no-color",
            "--suppress-health-check",
            "all",
            "--report",
            "junit",
            "--report-junit-path",
            report,
            *only,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def people():
    brand = BrandFactory(slug="acme", name="Acme")
    manager = UserFactory(username="fuzz-manager", role=Role.MANAGER, brands=[brand])
    admin = UserFactory(username="fuzz-admin", role=Role.ADMIN, is_staff=True)
    campaign = CampaignFactory(brief__brand=brand, brief__created_by=manager, name="Fuzzed")
    paused = CampaignFactory(brief__brand=brand, brief__created_by=manager, name="Held")
    Campaign.objects.filter(pk=campaign.pk).update(phase="execution")
    Campaign.objects.filter(pk=paused.pk).update(phase="paused", resume_phase="execution")
    launch = propose_launch(campaign, "Launch")
    return {"admin": admin, "manager": manager, "ids": [campaign.pk, paused.pk, launch.pk]}


@pytest.mark.parametrize("who", ["admin", "manager"])
def test_no_request_makes_a_server_error_or_breaks_the_schema(tmp_path, people, who):
    token = token_for(people[who])
    settings = config(tmp_path, people)
    with asgi_server(tmp_path / "uvicorn.log") as base_url:
        # Revoking a token is fuzzed last and on its own: it may revoke the fuzzer's own.
        runs = [
            schemathesis(base_url, token, str(tmp_path / "junit.xml"), settings, *only)
            for only in (
                ("--exclude-path", "/api/v1/tokens/{id}"),
                ("--include-path", "/api/v1/tokens/{id}"),
            )
        ]
    for n, run in enumerate(runs):
        output = run.stdout + run.stderr
        (tmp_path / f"schemathesis-{n}.txt").write_text(output)
        assert run.returncode == 0, output[-12000:]
        assert " passed" in output and "failures" not in output, output[-4000:]
