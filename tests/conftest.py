"""Shared fixtures, and the rule for tests that need a real service.

A test marked `postgres`, `redis` or `browser` runs only where that service is
present. Elsewhere it is skipped with the reason; under CI=true it fails instead,
because CI promises the real stack.
"""

import os
import shutil

import pytest
from django.conf import settings

from tests import factories

IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing_service(marker: str) -> str | None:
    if marker == "postgres":
        engine = settings.DATABASES["default"]["ENGINE"]
        if not engine.endswith("postgresql"):
            return "needs PostgreSQL: set DATABASE_URL=postgres://... (tests use SQLite otherwise)"
    if marker == "redis":
        url = settings.REDIS_URL
        if not url:
            return "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0"
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        except redis.RedisError as exc:
            return f"needs Redis at {url}: {exc}"
    if marker == "browser" and not shutil.which("chromium"):
        return "needs Debian's chromium (apt-get install chromium fonts-noto-cjk)"
    return None


@pytest.fixture(autouse=True)
def _require_services(request):
    for marker in ("postgres", "redis", "browser"):
        if request.node.get_closest_marker(marker) is None:
            continue
        reason = _missing_service(marker)
        if reason is None:
            continue
        if IN_CI:
            pytest.fail(f"CI=true but the service is missing: {reason}")
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    """Messages in assertions are English unless a test asks for another language
    (`translation.override`, or an Accept-Language header on a request)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def account(db):
    return factories.AccountFactory()


@pytest.fixture
def patient(account):
    return factories.PatientFactory(account=account)


@pytest.fixture
def staff(db):
    return factories.StaffFactory()
