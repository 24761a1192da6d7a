"""Settings, the error contract and the health probe."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation
from rest_framework.views import APIView

from booking.exceptions import SlotFull
from config.errors import api_exception_handler

ROOT = Path(__file__).resolve().parent.parent


def run_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`manage.py check` in a fresh process with only `env` of the project's settings."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "YUYUE_", "CELERY_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_its_secrets():
    result = run_check({"DJANGO_DEBUG": "false"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY, DATABASE_URL, REDIS_URL, DJANGO_ALLOWED_HOSTS" in result.stderr


def test_development_needs_no_environment():
    result = run_check({})
    assert result.returncode == 0, result.stderr


def test_api_errors_carry_code_and_translated_detail():
    with translation.override("en"):
        response = api_exception_handler(SlotFull(), {"view": APIView()})
    assert response.status_code == 409
    assert response.data["code"] == "slot_full"
    assert response.data["detail"].startswith("This time slot is fully booked")


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_api_schema_is_served(admin_client):
    assert admin_client.get("/api/v1/schema").status_code == 200
