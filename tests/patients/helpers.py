"""Helpers for tests that need a signed-in patient the real way (phone and SMS code).

`last_code(phone)` reads the newest sign-in code sent to a phone from the outbox (the
only place the plain code is kept); `sign_in_by_code(client, phone)` walks both sign-in
pages with it. Both work for browser tests too (the live server shares the database).
"""

import datetime
from zoneinfo import ZoneInfo

import time_machine
from django.urls import reverse

from notifications.models import OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 23 November 2026, 09:00 in Shanghai (the same instant as tests/booking's clock).
NOW = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


def last_code(phone: str) -> str:
    """The plain code of the newest sign-in SMS to `phone` (normalised: 11 digits)."""
    message = (
        OutboxMessage.objects.filter(kind="sign_in_code", recipient=phone).order_by("-pk").first()
    )
    assert message is not None, f"no sign-in code was sent to ***{phone[-4:]}"
    return message.context["code"]


def sign_in_by_code(client, phone: str, *, language: str = "zh-hans", next_url: str = ""):
    """Sign `client` in as `phone` through the two sign-in pages; return the last response
    (the redirect to `next_url` or the start page)."""
    data = {"phone": phone, "language": language}
    if next_url:
        data["next"] = next_url
    response = client.post(reverse("patients:sign-in"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    data = {"code": last_code(phone)}
    if next_url:
        data["next"] = next_url
    response = client.post(reverse("patients:sign-in-code"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def frozen_clock():
    """Time stands still at NOW unless a test moves it (`clock.move_to(...)`). A test
    module makes it a fixture: `clock = pytest.fixture(frozen_clock, name="clock")`."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
