"""Settings come from the environment; production refuses unsafe defaults."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_django(env_changes, *args):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = run_django({"DEBUG": "0"}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_development_runs_without_secret_key():
    result = run_django({"DEBUG": "1"}, "check")
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_under_production_settings():
    result = run_django(
        {
            "DEBUG": "0",
            "SECRET_KEY": "x7!kq2v9Lr0-production-like-secret-" + "a1B2c3D4e5F6g7H8i9J0" * 2,
            "ALLOWED_HOSTS": "tower.example.com",
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
