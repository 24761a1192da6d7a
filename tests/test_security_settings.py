"""Production refuses published or weak secret keys and the console SMS backend
(config/security.py, called from config/settings.py when DEBUG is off)."""

import re
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.security import KNOWN_SECRET_KEYS, check_secret_key, check_sms_backend
from tests.test_config import run_check

ROOT = Path(__file__).resolve().parent.parent
# Random-looking and fixed: the parametrised ids must be the same in every xdist worker.
GOOD_KEY = "wqR0Vcu84HW3A8kD-TEcnHPkfBLQZDHaVrl71IJoOWXyv1JyjbAhKRqdmfNZgZE4sPE"
# `DJANGO_SECRET_KEY=value`, `DJANGO_SECRET_KEY: "value"` in env files, YAML, shell, docs.
SECRET_KEY_ASSIGNMENT = re.compile(r"DJANGO_SECRET_KEY[\"']?[:=]\s*[\"']?([^\s\"'\\`]+)")


def production(**overrides: str) -> subprocess.CompletedProcess:
    """`manage.py check` with production settings and these variables changed."""
    return run_check(
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": GOOD_KEY,
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
            "REDIS_URL": "redis://127.0.0.1:6379/13",
            "DJANGO_ALLOWED_HOSTS": "yuyue.example.org",
            "YUYUE_SMS_BACKEND": "http",
            **overrides,
        }
    )


def committed_secret_keys() -> set[str]:
    """Every DJANGO_SECRET_KEY value written in the repository's config and docs."""
    found = set()
    paths = [ROOT / name for name in ("docker-compose.yml", "Dockerfile", "Makefile", "README.md")]
    paths += [*ROOT.glob(".env*"), *(ROOT / "docs").glob("*.md")]
    for path in paths:
        if path.is_file():
            found |= set(SECRET_KEY_ASSIGNMENT.findall(path.read_text()))
    # Shell substitutions (`$(python -c ...)`, `${DJANGO_SECRET_KEY:?...}`) are made per run.
    return {key for key in found if "$" not in key}


def test_a_random_key_is_accepted():
    check_secret_key(GOOD_KEY)

    result = production()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("key", sorted(KNOWN_SECRET_KEYS))
def test_published_keys_are_refused(key):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        check_secret_key(key)


def test_every_key_written_in_the_repository_is_refused():
    keys = committed_secret_keys()

    assert keys  # .env.example's at least
    for key in keys:
        with pytest.raises(ImproperlyConfigured):
            check_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "change-me-" + GOOD_KEY,
        GOOD_KEY + "CHANGEME",
        "django-insecure-" + GOOD_KEY,
        "example-" + GOOD_KEY,
        GOOD_KEY + "_placeholder",
    ],
)
def test_placeholders_are_refused_whatever_their_length(key):
    with pytest.raises(ImproperlyConfigured, match="placeholder"):
        check_secret_key(key)


@pytest.mark.parametrize("key", [GOOD_KEY[:49], "x" * 60, "abcd" * 20])
def test_short_or_repetitive_keys_are_refused(key):
    with pytest.raises(ImproperlyConfigured, match="at least 50 characters and 5 different"):
        check_secret_key(key)


def test_production_settings_refuse_to_start_with_a_published_key():
    result = production(DJANGO_SECRET_KEY="change-me-to-50-or-more-random-characters")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY is a key published in this repository" in result.stderr


def test_development_keeps_its_default_key():
    result = production(DJANGO_DEBUG="true", DJANGO_SECRET_KEY="")
    assert result.returncode == 0, result.stderr


# --- the console SMS backend in production -------------------------------------------


@pytest.mark.parametrize("backend", ["console", "notifications.backends.ConsoleSMSBackend"])
def test_production_refuses_the_console_sms_backend(backend):
    with pytest.raises(ImproperlyConfigured, match="YUYUE_ALLOW_CONSOLE_SMS"):
        check_sms_backend(backend, allow_console=False)

    result = production(YUYUE_SMS_BACKEND=backend)
    assert result.returncode != 0
    assert "YUYUE_SMS_BACKEND is the console in production" in result.stderr


def test_production_refuses_it_by_default():
    result = production(YUYUE_SMS_BACKEND="")  # unset: the console default

    assert result.returncode != 0
    assert "YUYUE_SMS_BACKEND is the console in production" in result.stderr


def test_a_demo_may_allow_it():
    check_sms_backend("console", allow_console=True)

    result = production(YUYUE_SMS_BACKEND="console", YUYUE_ALLOW_CONSOLE_SMS="true")
    assert result.returncode == 0, result.stderr


def test_real_backends_pass():
    for backend in ("http", "aliyun", "file", "locmem"):
        check_sms_backend(backend, allow_console=False)
