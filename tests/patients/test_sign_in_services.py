"""sign_in_code_request / sign_in_code_verify: limits, hashing, expiry, single use, lock."""

import datetime

import pytest
from django.db import connection

from notifications.messages import render
from notifications.models import OutboxMessage
from patients.exceptions import (
    CodeDailyLimit,
    CodeExpired,
    CodeIpLimit,
    CodeLocked,
    CodeTooSoon,
    CodeWrong,
    InvalidPhone,
    SignInNotAllowed,
)
from patients.models import Account, SignInCode
from patients.selectors import sign_in_code_wait_seconds
from patients.services import sign_in_code_request, sign_in_code_verify
from tests.factories import AccountFactory, StaffFactory
from tests.patients.helpers import NOW, SHANGHAI, frozen_clock, last_code

pytestmark = pytest.mark.django_db
clock = pytest.fixture(frozen_clock, name="clock")

PHONE = "13912345678"
IP = "203.0.113.7"


def snapshot() -> dict:
    return {
        "codes": list(SignInCode.objects.values_list("pk", "used_at", "attempts").order_by("pk")),
        "messages": list(OutboxMessage.objects.values_list("pk", flat=True).order_by("pk")),
        "accounts": list(Account.objects.values_list("pk", flat=True).order_by("pk")),
    }


def request(now=NOW, phone=PHONE, ip=IP, language="zh-hans"):
    return sign_in_code_request(phone=phone, ip=ip, now=now, language=language)


def at(seconds: float) -> datetime.datetime:
    return NOW + datetime.timedelta(seconds=seconds)


# --- request --------------------------------------------------------------------------


def test_request_stores_only_a_hash_and_sends_the_code_by_sms(clock):
    row = request(phone="+86 139-1234-5678")

    code = last_code(PHONE)
    assert len(code) == 6 and code.isdigit()
    assert row.phone == PHONE
    assert row.created_at == NOW
    assert row.expires_at == NOW + datetime.timedelta(minutes=5)
    assert row.requested_ip == IP
    assert (row.used_at, row.attempts, row.language) == (None, 0, "zh-hans")
    assert len(row.code_hash) == 64 and code not in row.code_hash
    # The plain code is in no column of the code table.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM patients_signincode")
        assert not any(code in str(value) for value in cursor.fetchone())
    message = OutboxMessage.objects.get()
    assert (message.kind, message.recipient, message.language) == ("sign_in_code", PHONE, "zh-hans")
    assert message.dedupe_key == f"sign_in_code:{row.pk}"
    assert message.urgent is True
    assert message.account_id is None
    assert render(kind="sign_in_code", language="zh-hans", context=message.context) == (
        f"【预约】您的登录验证码是{code}，请勿告诉他人。"
    )


def test_a_code_goes_out_at_once_in_quiet_hours(clock):
    late = datetime.datetime(2026, 11, 23, 23, 30, tzinfo=SHANGHAI)
    clock.move_to(late)

    request(now=late)

    assert OutboxMessage.objects.get().due_at == late


def test_an_existing_account_gets_the_code_in_its_own_language(clock):
    AccountFactory(phone=PHONE, username=PHONE, language="en", wechat_openid="o-123")

    row = request(language="zh-hans")

    message = OutboxMessage.objects.get()
    # By SMS only (a code proves the phone), and not in the account's inbox.
    assert (message.language, message.account_id, message.channel) == ("en", None, "sms")
    assert row.language == "en"


@pytest.mark.parametrize(
    "phone", ["", "12345", "010-12345678", "+1 415 555 0100", "1391234567", "23912345678"]
)
def test_only_a_mainland_mobile_number_is_accepted(clock, phone):
    before = snapshot()

    with pytest.raises(InvalidPhone) as refusal:
        request(phone=phone)

    assert refusal.value.code == "invalid_phone"
    assert "11 digits" in refusal.value.detail
    assert snapshot() == before


def test_one_code_a_minute_per_phone(clock):
    request()
    before = snapshot()

    with pytest.raises(CodeTooSoon) as refusal:
        request(now=at(59), ip="198.51.100.1")

    assert refusal.value.code == "code_too_soon"
    assert refusal.value.params == {"seconds": 1}
    assert refusal.value.detail == (
        "A code was sent less than a minute ago. You can ask again in 1 seconds."
    )
    assert snapshot() == before
    assert sign_in_code_wait_seconds(phone=PHONE, now=at(0.5)) == 60
    assert sign_in_code_wait_seconds(phone=PHONE, now=at(60)) == 0
    request(now=at(60))
    assert SignInCode.objects.count() == 2


def test_ten_codes_a_day_per_phone(clock):
    for minute in range(10):
        request(now=at(60 * minute))
    before = snapshot()

    with pytest.raises(CodeDailyLimit) as refusal:
        request(now=at(60 * 10))

    assert refusal.value.code == "code_daily_limit"
    assert refusal.value.params == {"limit": 10}
    assert snapshot() == before
    # Still refused late that evening; a new local day starts at midnight in Shanghai.
    with pytest.raises(CodeDailyLimit):
        request(now=datetime.datetime(2026, 11, 23, 23, 59, tzinfo=SHANGHAI))
    request(now=datetime.datetime(2026, 11, 24, 0, 0, tzinfo=SHANGHAI))
    assert SignInCode.objects.count() == 11


def test_thirty_codes_an_hour_per_ip(clock):
    for n in range(30):
        request(phone=f"1370000{n:04d}", now=at(n))
    before = snapshot()

    with pytest.raises(CodeIpLimit) as refusal:
        request(phone="13800009999", now=at(30))

    assert refusal.value.code == "code_ip_limit"
    assert snapshot() == before
    # Another address is not held up, and the first one may again an hour later.
    request(phone="13800009999", now=at(30), ip="198.51.100.1")
    request(phone="13800009998", now=at(3600))
    assert SignInCode.objects.count() == 32


def test_no_ip_known_means_no_ip_limit(clock):
    for n in range(31):
        request(phone=f"1370000{n:04d}", ip=None)
    assert SignInCode.objects.filter(requested_ip=None).count() == 31


# --- verify ---------------------------------------------------------------------------


def test_first_sign_in_creates_the_account_in_the_chosen_language(clock):
    request(language="en")
    code = last_code(PHONE)

    account = sign_in_code_verify(phone=PHONE, code=code, now=at(30))

    assert (account.phone, account.username, account.language) == (PHONE, PHONE, "en")
    assert not account.has_usable_password()
    assert SignInCode.objects.get().used_at == at(30)


def test_an_existing_account_signs_in_without_a_new_one(clock):
    account = AccountFactory(phone=PHONE, username=PHONE)
    request(language="en")

    signed_in = sign_in_code_verify(phone=PHONE, code=last_code(PHONE), now=at(10))

    assert signed_in == account
    assert Account.objects.count() == 1
    assert Account.objects.get().language == "zh-hans"


def test_a_pasted_code_with_spaces_or_full_width_digits_is_accepted(clock):
    request()
    code = last_code(PHONE)
    typed = " " + " ".join(chr(ord(d) + 0xFEE0) for d in code) + " "  # "１ ２ ３ ..."

    assert sign_in_code_verify(phone=PHONE, code=typed, now=at(10)).phone == PHONE


def test_a_code_works_once(clock):
    request()
    code = last_code(PHONE)
    sign_in_code_verify(phone=PHONE, code=code, now=at(10))
    before = snapshot()

    with pytest.raises(CodeExpired) as refusal:
        sign_in_code_verify(phone=PHONE, code=code, now=at(20))

    assert refusal.value.code == "code_expired"
    assert snapshot() == before


def test_a_code_expires_after_five_minutes(clock):
    request()
    code = last_code(PHONE)
    before = snapshot()

    with pytest.raises(CodeExpired) as refusal:
        sign_in_code_verify(phone=PHONE, code=code, now=at(300))

    assert refusal.value.code == "code_expired"
    assert snapshot() == before
    assert Account.objects.count() == 0
    # One second earlier it still worked.
    assert sign_in_code_verify(phone=PHONE, code=code, now=at(299)).phone == PHONE


def test_no_code_asked_for_is_refused_as_expired(clock):
    with pytest.raises(CodeExpired):
        sign_in_code_verify(phone=PHONE, code="123456", now=NOW)
    assert snapshot() == {"codes": [], "messages": [], "accounts": []}


def test_a_wrong_code_counts_a_try_and_says_how_many_are_left(clock):
    request()
    wrong = f"{(int(last_code(PHONE)) + 1) % 10**6:06d}"

    with pytest.raises(CodeWrong) as refusal:
        sign_in_code_verify(phone=PHONE, code=wrong, now=at(10))

    assert refusal.value.code == "code_wrong"
    assert refusal.value.params == {"left": 4}
    assert SignInCode.objects.get().attempts == 1
    assert SignInCode.objects.get().used_at is None
    assert Account.objects.count() == 0


def test_five_wrong_codes_lock_the_code(clock):
    request()
    code = last_code(PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    lefts = []
    for second in range(4):
        with pytest.raises(CodeWrong) as refusal:
            sign_in_code_verify(phone=PHONE, code=wrong, now=at(second))
        lefts.append(refusal.value.params["left"])

    with pytest.raises(CodeLocked) as fifth:
        sign_in_code_verify(phone=PHONE, code=wrong, now=at(5))
    before = snapshot()
    with pytest.raises(CodeLocked) as right_code_too_late:
        sign_in_code_verify(phone=PHONE, code=code, now=at(6))

    assert lefts == [4, 3, 2, 1]
    assert fifth.value.code == right_code_too_late.value.code == "code_locked"
    assert SignInCode.objects.get().attempts == 5
    assert snapshot() == before
    # A new code (a minute after the first) signs in.
    request(now=at(60))
    assert sign_in_code_verify(phone=PHONE, code=last_code(PHONE), now=at(70)).phone == PHONE


def test_an_earlier_live_code_still_works_and_signing_in_ends_all_codes(clock):
    request()
    first = last_code(PHONE)
    request(now=at(60))
    second = last_code(PHONE)

    sign_in_code_verify(phone=PHONE, code=first, now=at(90))

    assert list(SignInCode.objects.values_list("used_at", flat=True)) == [at(90), at(90)]
    with pytest.raises(CodeExpired):
        sign_in_code_verify(phone=PHONE, code=second, now=at(95))


def test_staff_and_inactive_accounts_cannot_sign_in_by_code(clock):
    StaffFactory(phone=PHONE, is_staff=True)
    request()

    with pytest.raises(SignInNotAllowed) as refusal:
        sign_in_code_verify(phone=PHONE, code=last_code(PHONE), now=at(10))

    assert refusal.value.code == "sign_in_not_allowed"
    assert SignInCode.objects.get().used_at == at(10)  # the code is spent all the same


def test_in_development_the_console_backend_prints_the_code(clock, settings, caplog, capsys):
    # `make run` says so: no SMS leaves the machine, the code is on the server's terminal;
    # the log line names the kind and the masked number only, never the code.
    settings.YUYUE_SMS_BACKEND = "notifications.backends.ConsoleSMSBackend"
    settings.DEBUG = True
    from notifications.services import message_send

    request(language="en")
    caplog.set_level("INFO", logger="yuyue.sms")
    assert message_send(message_id=OutboxMessage.objects.get().pk)

    code = last_code(PHONE)
    assert caplog.messages == ["SMS sign_in_code to ***5678 (text not logged)"]
    assert capsys.readouterr().out == (
        f"SMS to ***5678: [Yuyue] Your sign-in code is {code}. Never share it with anyone.\n"
    )


def test_the_nightly_purge_keeps_the_codes_a_limit_still_counts(clock):
    from patients.services import sign_in_codes_purge
    from patients.tasks import sign_in_codes_purge_task

    request(now=NOW - datetime.timedelta(days=3))  # no rule needs it any more
    request(now=NOW - datetime.timedelta(hours=30), phone="13900139000")  # kept: 2 days

    assert sign_in_codes_purge(now=NOW) == 1
    assert list(SignInCode.objects.values_list("phone", flat=True)) == ["13900139000"]
    assert sign_in_codes_purge_task.delay().get() == 0
