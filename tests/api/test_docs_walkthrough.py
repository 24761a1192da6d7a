"""docs/api.md runs as written: every ```sh block, in order, in one shell, against a live
server, and each step's output is what the page says it is.

Two substitutions only, both ones a reader makes: `$YUYUE` is the live server's address
(the page reads it from the environment), and the sign-in code, which a reader copies
from the SMS (or the development console), comes from the outbox (tests/patients/helpers).
"""

import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from booking.models import Booking
from clinics.models import Channel
from patients.models import ApiToken, Patient
from tests import factories
from tests.conftest import IN_CI
from tests.patients.helpers import last_code

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
PHONE = "13800138000"
CODE_PLACEHOLDER = "CODE=123456"
STEP_TIMEOUT = 60  # seconds for one block

pytestmark = pytest.mark.django_db(transaction=True)


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


class Shell:
    """One bash, fed one block at a time, as a reader pastes them into a terminal."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "--norc", "--noprofile"],  # noqa: S607
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=cwd,
            env=env,
        )

    def run(self, block: str, index: int) -> str:
        sentinel = f"__block_{index}_done__"
        self.process.stdin.write(f"{block}\necho; echo {sentinel}\n")
        self.process.stdin.flush()
        timer = threading.Timer(STEP_TIMEOUT, self.process.kill)
        timer.start()
        lines = []
        try:
            for line in self.process.stdout:
                if line.strip() == sentinel:
                    return "".join(lines).strip()
                lines.append(line)
        finally:
            timer.cancel()
        raise AssertionError(f"block {index} never finished:\n{block}\n{''.join(lines)}")

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture
def clinic(settings):
    # Throttle counters of this process only.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "docs-walkthrough",
        }
    }
    session = factories.SessionFactory(
        doctor__department__code="cataract", doctor__department__name_en="Cataract clinic"
    )
    factories.BookingPolicyFactory(department=session.department)
    slot = factories.slot_with_quotas(session=session, online=3, walkin=1)
    return session, slot


def test_the_api_walkthrough_runs_as_written(live_server, clinic, tmp_path):
    if not (shutil.which("curl") and shutil.which("jq")):
        # CI promises the tools the page uses (.ci/run); elsewhere say what is missing.
        (pytest.fail if IN_CI else pytest.skip)("needs curl and jq on PATH (apt-get install jq)")
    session, slot = clinic
    blocks = sh_blocks(DOC.read_text())
    checks = [
        ("/api/v1/status", lambda out: out.endswith("/status") or out.startswith("/")),
        ("/api/v1/auth/code", lambda out: json.loads(out)["sent"] is True),
        (
            "/api/v1/auth/token",
            lambda out: (
                ApiToken.objects.filter(account__phone=PHONE).count() == 1 and len(out) >= 20
            ),
        ),
        (
            "/api/v1/patients",
            lambda out: out == "王芳" and Patient.objects.filter(account__phone=PHONE).count() == 1,
        ),
        ("/api/v1/departments", lambda out: out == "cataract\tCataract clinic"),
        (
            "/api/v1/sessions?",
            lambda out: out.startswith(f"{session.pk}\t{session.date:%Y-%m-%d} morning\t"),
        ),
        ("/slots", lambda out: out == str(slot.pk)),
        ("> booking.json", _booked),
        ('"Idempotency-Key: $KEY"', lambda out: out == str(Booking.objects.get().pk)),
        (
            '/api/v1/bookings" -H',
            lambda out: out.startswith(Booking.objects.get().code + "\tconfirmed\t"),
        ),
        (
            "/cancel",
            lambda out: out == Booking.objects.get().status == "cancelled_by_patient",
        ),
        (
            "bookings/999999",
            lambda out: (
                json.loads(out)
                == {
                    "code": "not_your_patient",
                    "detail": "This patient does not belong to your account.",
                }
            ),
        ),
        (
            "$bulk-publish",
            lambda out: (
                {"Location", "Schedule", "Slot"}
                <= {line.split("\t")[0] for line in out.splitlines()}
            ),
        ),
    ]
    assert len(blocks) == len(checks), "a new sh block in docs/api.md needs its check here"

    env = {**os.environ, "YUYUE": live_server.url, "LC_ALL": "C.UTF-8"}
    shell = Shell(tmp_path, env)
    try:
        for index, (block, (marker, check)) in enumerate(zip(blocks, checks, strict=True)):
            assert marker in block, f"block {index} is not the step the test expects:\n{block}"
            if CODE_PLACEHOLDER in block:
                block = block.replace(CODE_PLACEHOLDER, f"CODE={last_code(PHONE)}")
            output = shell.run(block, index)
            assert check(output), f"block {index}:\n{block}\n--- printed:\n{output}"
    finally:
        shell.close()

    booking = Booking.objects.get()
    assert (booking.slot_id, booking.channel) == (slot.pk, Channel.ONLINE)
    assert booking.idempotency_key == "walkthrough-booking-1"


def _booked(out: str) -> bool:
    booking = Booking.objects.get()
    return out == f"{booking.code} confirmed queue number {booking.queue_number}"


def test_the_walkthrough_names_only_routes_that_exist():
    """Every /api/v1/ path the page mentions resolves (placeholders filled)."""
    from django.urls import Resolver404, resolve

    paths = set(re.findall(r"/api/v1/[\w/{}$.\\-]*", DOC.read_text()))
    assert len(paths) > 15, sorted(paths)
    unknown = []
    for path in sorted(paths):
        concrete = re.sub(r"\{[^}]+\}|<[^>]+>|\$[A-Z]+\b", "1", path.replace("\\$", "$"))
        concrete = concrete.rstrip(".")
        if concrete.endswith("/"):
            continue  # a prefix, named as such
        try:
            resolve(concrete)
        except Resolver404:
            unknown.append(path)
    assert unknown == []
