"""Sign-in codes under real concurrency (PostgreSQL advisory locks)."""

import pytest

from notifications.models import OutboxMessage
from patients.exceptions import CodeExpired, CodeTooSoon, CodeWrong
from patients.models import Account, SignInCode
from patients.services import sign_in_code_request, sign_in_code_verify
from tests.concurrency import run_together
from tests.patients.helpers import NOW, last_code

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = "13912345678"


def test_five_parallel_requests_for_one_phone_send_exactly_one_code():
    results = run_together(
        [
            lambda i=i: sign_in_code_request(phone=PHONE, ip=f"203.0.113.{i}", now=NOW)
            for i in range(5)
        ]
    )

    assert sum(isinstance(r, SignInCode) for r in results) == 1
    assert sum(isinstance(r, CodeTooSoon) for r in results) == 4
    assert SignInCode.objects.filter(phone=PHONE).count() == 1
    assert OutboxMessage.objects.filter(kind="sign_in_code", recipient=PHONE).count() == 1


def test_five_parallel_uses_of_one_code_sign_in_once():
    sign_in_code_request(phone=PHONE, ip=None, now=NOW)
    code = last_code(PHONE)

    results = run_together(
        [lambda: sign_in_code_verify(phone=PHONE, code=code, now=NOW) for _ in range(5)]
    )

    assert sum(isinstance(r, Account) for r in results) == 1
    assert sum(isinstance(r, CodeExpired) for r in results) == 4
    assert Account.objects.filter(phone=PHONE).count() == 1


def test_parallel_wrong_codes_get_five_tries_in_all():
    sign_in_code_request(phone=PHONE, ip=None, now=NOW)
    wrong = f"{(int(last_code(PHONE)) + 1) % 10**6:06d}"

    results = run_together(
        [lambda: sign_in_code_verify(phone=PHONE, code=wrong, now=NOW) for _ in range(8)]
    )

    lefts = sorted(r.params["left"] for r in results if isinstance(r, CodeWrong))
    assert lefts == [1, 2, 3, 4]
    assert [type(r).__name__ for r in results].count("CodeLocked") == 4
    assert SignInCode.objects.get().attempts == 5
