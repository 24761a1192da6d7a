"""Shared fixtures, and the rule for tests that need a real service.

A test marked `postgres`, `redis`, `browser` or `axe` runs only where that service is
present. Elsewhere it is skipped with the reason; under CI=true it fails instead,
because CI promises the real stack.
"""

import logging
import os
import re

import pytest
from django.conf import settings

from tests import factories

IN_CI = os.environ.get("CI", "").lower() == "true"
# Debian's Chromium; the browser tests never use a downloaded one (tests/e2e/conftest.py).
CHROMIUM = "/usr/bin/chromium"
SERVICE_MARKERS = ("postgres", "redis", "browser", "axe")


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
    if marker == "browser" and not os.access(CHROMIUM, os.X_OK):
        return f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
    if marker == "axe":
        # npm's axe-core, installed by `npm ci` (package.json; .ci/run does it).
        from tests.e2e.a11y import axe_missing

        return axe_missing()
    return None


_MISSING_SERVICE = pytest.StashKey[str]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Decide at collection, before any fixture runs, what a missing service means.

    Not an autouse fixture: fixtures of a wider scope are set up first, so
    pytest-playwright's session-scoped `browser` would launch a missing Chromium and turn
    the skip into an error. Each service is checked once per run.
    """
    reasons: dict[str, str | None] = {}
    for item in items:
        for marker in SERVICE_MARKERS:
            if item.get_closest_marker(marker) is None:
                continue
            if marker not in reasons:
                reasons[marker] = _missing_service(marker)
            reason = reasons[marker]
            if reason is None:
                continue
            if IN_CI:
                item.stash[_MISSING_SERVICE] = reason
            else:
                item.add_marker(pytest.mark.skip(reason=reason))
            break


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under CI=true a missing service fails the test, before its fixtures are set up."""
    reason = item.stash.get(_MISSING_SERVICE, None)
    if reason is not None:
        pytest.fail(f"CI=true but the service is missing: {reason}", pytrace=False)


@pytest.fixture(autouse=True)
def _fresh_throttles(settings):
    """API throttle counts (core/throttles.py) live in the default cache and would carry
    over from one test to the next (many tests share one frozen minute): start empty.
    On Redis the xdist workers share one database: each gets its own key prefix, and
    empties only its own keys."""
    from django.core.cache import cache

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    default = settings.CACHES["default"]
    if worker and default["BACKEND"].startswith("django_redis"):
        settings.CACHES = {**settings.CACHES, "default": {**default, "KEY_PREFIX": worker}}
        cache.delete_pattern("*")
    else:
        cache.clear()
    from clinics.cache import forget_local

    forget_local()  # this process's copies of cached reads (clinics.cache)


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    """Messages in assertions are English unless a test asks for another language
    (`translation.override`, or an Accept-Language header on a request)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


class PersonalDataGuard(logging.Handler):
    """Every log line a test produced, formatted as the console handler formats it
    (through the project's MaskIdentityFilter), and the lines that still hold a valid
    resident ID or a mainland mobile number."""

    MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
    RESIDENT_ID = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")

    def __init__(self) -> None:
        from patients.logging import MaskIdentityFilter

        super().__init__(level=logging.NOTSET)
        self.addFilter(MaskIdentityFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def leaks(self) -> list[str]:
        from patients.identity import is_valid_resident_id

        return [
            line
            for line in self.lines
            if self.MOBILE.search(line)
            or any(is_valid_resident_id(m.group(0)) for m in self.RESIDENT_ID.finditer(line))
        ]


@pytest.fixture(autouse=True)
def personal_data_guard():
    """A test fails when a log line it produced holds a full ID or phone number
    (STYLE.md: never log them). Mask at the source, not here."""
    guard = PersonalDataGuard()
    root = logging.getLogger()
    root.addHandler(guard)
    try:
        yield guard
    finally:
        root.removeHandler(guard)
    leaks = guard.leaks()
    if leaks:
        pytest.fail("personal data in the log:\n" + "\n".join(leaks), pytrace=False)


@pytest.fixture
def account(db):
    return factories.AccountFactory()


@pytest.fixture
def patient(account):
    return factories.PatientFactory(account=account)


@pytest.fixture
def staff(db):
    return factories.StaffFactory()
