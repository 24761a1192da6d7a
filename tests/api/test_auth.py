"""Patients sign in to the API by phone code: the same rules as the web sign-in, then a
bearer token for 30 days that the patient can end."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notifications.models import OutboxMessage
from patients.authentication import token_hash
from patients.exceptions import SignInNotAllowed
from patients.models import Account, ApiToken, SignInCode
from patients.services import api_token_issue, api_token_revoke
from tests import factories

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
PHONE = "13800138000"
CODE_URL = "/api/v1/auth/code"
TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def post(client, url, body, **extra):
    return client.post(url, body, content_type="application/json", **extra)


def sent_code(phone: str = PHONE) -> str:
    message = OutboxMessage.objects.filter(kind="sign_in_code", recipient=phone).latest("pk")
    return message.context["code"]


def a_wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1000000:06d}"


def snapshot() -> tuple:
    return (
        list(SignInCode.objects.values_list("pk", "attempts", "used_at")),
        OutboxMessage.objects.count(),
        Account.objects.count(),
        ApiToken.objects.count(),
    )


def sign_in(client, phone: str = PHONE) -> str:
    assert post(client, CODE_URL, {"phone": phone}).status_code == 202
    response = post(client, TOKEN_URL, {"phone": phone, "code": sent_code(phone)})
    assert response.status_code == 201, response.json()
    return response.json()["token"]


# --- asking for a code -------------------------------------------------------------------


def test_a_code_is_sent_to_a_normalised_phone(clock, client):
    response = post(client, CODE_URL, {"phone": "+86 138-0013 8000", "language": "en"})

    assert response.status_code == 202
    assert response.json() == {"sent": True, "expires_in": 300}
    row = SignInCode.objects.get()
    assert (row.phone, row.language, row.requested_ip) == (PHONE, "en", "127.0.0.1")
    assert row.expires_at == NOW + datetime.timedelta(minutes=5)
    message = OutboxMessage.objects.get()
    assert (message.kind, message.recipient, message.language) == ("sign_in_code", PHONE, "en")
    assert len(message.context["code"]) == 6


def test_without_a_language_the_request_language_is_kept_for_the_new_account(clock, client):
    post(client, CODE_URL, {"phone": PHONE}, HTTP_ACCEPT_LANGUAGE="en")

    assert SignInCode.objects.get().language == "en"


@pytest.mark.parametrize(
    ("phone", "status", "code"),
    [
        ("12345", 400, "invalid_phone"),
        ("+1 415 555 0100", 400, "invalid_phone"),
    ],
)
def test_an_invalid_phone_is_refused(clock, client, phone, status, code):
    response = post(client, CODE_URL, {"phone": phone})

    assert response.status_code == status
    assert response.json() == {
        "code": code,
        "detail": "Please enter a mainland China mobile number: 11 digits starting with 1.",
    }
    assert snapshot() == ([], 0, 0, 0)


def test_a_missing_phone_is_a_validation_error(clock, client):
    response = post(client, CODE_URL, {"language": "fr"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"phone", "language"}


def test_a_second_code_within_a_minute_is_refused(clock, client):
    post(client, CODE_URL, {"phone": PHONE})
    clock.move_to(NOW + datetime.timedelta(seconds=20))
    before = snapshot()

    response = post(client, CODE_URL, {"phone": PHONE})

    assert response.status_code == 429
    assert response.json() == {
        "code": "code_too_soon",
        "detail": "A code was sent less than a minute ago. You can ask again in 40 seconds.",
    }
    assert snapshot() == before


def _codes(*, phone: str, ip: str, count: int, at: datetime.datetime) -> None:
    for n in range(count):
        SignInCode.objects.create(
            phone=phone,
            code_hash=f"{n:064d}",
            language="zh-hans",
            requested_ip=ip,
            created_at=at,
            expires_at=at + datetime.timedelta(minutes=5),
        )


def test_the_eleventh_code_of_the_day_is_refused(clock, client):
    _codes(phone=PHONE, ip="10.9.9.9", count=10, at=NOW.replace(hour=0, minute=1))
    before = snapshot()

    response = post(client, CODE_URL, {"phone": PHONE})

    assert response.status_code == 429
    assert response.json()["code"] == "code_daily_limit"
    assert snapshot() == before


def test_the_31st_code_from_one_address_in_an_hour_is_refused(clock, client):
    for n in range(30):
        _codes(
            phone=f"1390000{n:04d}", ip="10.0.0.7", count=1, at=NOW - datetime.timedelta(minutes=30)
        )
    before = snapshot()

    response = post(client, CODE_URL, {"phone": PHONE}, REMOTE_ADDR="10.0.0.7")
    elsewhere = post(client, CODE_URL, {"phone": PHONE}, REMOTE_ADDR="10.0.0.8")

    assert response.status_code == 429
    assert response.json()["code"] == "code_ip_limit"
    assert elsewhere.status_code == 202
    assert SignInCode.objects.count() == len(before[0]) + 1


# --- trading the code for a token --------------------------------------------------------


def test_the_right_code_gives_a_token_for_30_days_and_creates_the_account(clock, client):
    post(client, CODE_URL, {"phone": PHONE, "language": "en"})

    response = post(client, TOKEN_URL, {"phone": "+86 13800138000", "code": sent_code()})

    assert response.status_code == 201
    body = response.json()
    account = Account.objects.get(phone=PHONE)
    assert body == {
        "token": body["token"],
        "expires_at": "2026-12-23T09:00:00+08:00",
        "account": {"id": account.pk, "phone": "138****8000", "language": "en"},
    }
    row = ApiToken.objects.get()
    assert row.key_hash == token_hash(body["token"])
    assert body["token"] not in row.key_hash
    assert (row.account, row.second_factor, row.created_at) == (account, False, NOW)
    assert row.expires_at == NOW + datetime.timedelta(days=30)
    assert SignInCode.objects.get().used_at == NOW


def test_an_existing_account_keeps_its_language(clock, client):
    factories.AccountFactory(username=PHONE, phone=PHONE, language="zh-hans")
    post(client, CODE_URL, {"phone": PHONE, "language": "en"})

    response = post(client, TOKEN_URL, {"phone": PHONE, "code": sent_code()})

    assert response.json()["account"]["language"] == "zh-hans"


def test_a_stale_token_in_the_header_does_not_stop_a_sign_in(clock, client):
    post(client, CODE_URL, {"phone": PHONE})

    response = post(
        client,
        TOKEN_URL,
        {"phone": PHONE, "code": sent_code()},
        HTTP_AUTHORIZATION="Bearer not-a-token",
    )

    assert response.status_code == 201


def test_a_wrong_code_is_refused_and_counted(clock, client):
    post(client, CODE_URL, {"phone": PHONE})

    response = post(client, TOKEN_URL, {"phone": PHONE, "code": a_wrong(sent_code())})

    assert response.status_code == 400
    assert response.json() == {
        "code": "code_wrong",
        "detail": "The code is not right. Please check the SMS and try again (4 tries left).",
    }
    assert SignInCode.objects.get().attempts == 1
    assert not ApiToken.objects.exists()
    assert not Account.objects.exists()


def test_the_fifth_wrong_code_locks_even_the_right_one(clock, client):
    post(client, CODE_URL, {"phone": PHONE})
    right = sent_code()
    answers = [
        post(client, TOKEN_URL, {"phone": PHONE, "code": a_wrong(right)}).json()["code"]
        for _ in range(5)
    ]

    response = post(client, TOKEN_URL, {"phone": PHONE, "code": right})

    assert answers == ["code_wrong"] * 4 + ["code_locked"]
    assert response.status_code == 400
    assert response.json() == {
        "code": "code_locked",
        "detail": "The code was entered wrongly too many times. Please ask for a new code.",
    }
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("case", ["no code sent", "expired", "used"])
def test_no_live_code_is_code_expired(clock, client, case):
    if case != "no code sent":
        post(client, CODE_URL, {"phone": PHONE})
        code = sent_code()
    else:
        code = "123456"
    if case == "expired":
        clock.move_to(NOW + datetime.timedelta(minutes=5, seconds=1))
    if case == "used":
        assert post(client, TOKEN_URL, {"phone": PHONE, "code": code}).status_code == 201
    tokens = ApiToken.objects.count()

    response = post(client, TOKEN_URL, {"phone": PHONE, "code": code})

    assert response.status_code == 400
    assert response.json() == {
        "code": "code_expired",
        "detail": "This code has expired or has already been used. Please ask for a new code.",
    }
    assert ApiToken.objects.count() == tokens


@pytest.mark.parametrize("who", ["staff", "inactive"])
def test_staff_and_inactive_accounts_cannot_sign_in_here(clock, client, who):
    if who == "staff":
        factories.StaffFactory(username="ops1", phone=PHONE)
    else:
        factories.AccountFactory(username=PHONE, phone=PHONE, is_active=False)
    post(client, CODE_URL, {"phone": PHONE})

    response = post(client, TOKEN_URL, {"phone": PHONE, "code": sent_code()})

    assert response.status_code == 403
    assert response.json() == {
        "code": "sign_in_not_allowed",
        "detail": "This account cannot sign in here. Please call the clinic.",
    }
    assert not ApiToken.objects.exists()


def test_an_invalid_phone_for_a_token_is_refused(clock, client):
    response = post(client, TOKEN_URL, {"phone": "555", "code": "123456"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_phone"


# --- using and ending the token -----------------------------------------------------------


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_signing_out_ends_the_token(clock, client):
    token = sign_in(client)
    clock.move_to(NOW + datetime.timedelta(hours=1))

    response = client.delete(TOKEN_URL, **bearer(token))
    again = client.delete(TOKEN_URL, **bearer(token))

    assert response.status_code == 204
    assert response.content == b""
    assert ApiToken.objects.get().revoked_at == NOW + datetime.timedelta(hours=1)
    assert again.status_code == 401
    assert again.json() == {"code": "authentication_failed", "detail": "Invalid or expired token."}


def test_signing_out_ends_only_the_token_sent(clock, client):
    first = sign_in(client)
    clock.move_to(NOW + datetime.timedelta(minutes=2))
    second = sign_in(client)

    client.delete(TOKEN_URL, **bearer(first))

    assert client.delete(TOKEN_URL, **bearer(second)).status_code == 204


def test_signing_out_needs_a_token_not_a_session(clock, client, account):
    client.force_login(account)

    response = client.delete(TOKEN_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_token_ends_after_30_days(clock, client):
    token = sign_in(client)

    clock.move_to(NOW + datetime.timedelta(days=30) - datetime.timedelta(seconds=1))
    still = client.get("/api/v1/staff/closures", **bearer(token))
    clock.move_to(NOW + datetime.timedelta(days=30))
    expired = client.delete(TOKEN_URL, **bearer(token))

    assert still.status_code == 403  # authenticated (a patient), not allowed
    assert expired.status_code == 401
    assert expired.json()["code"] == "authentication_failed"
    assert ApiToken.objects.get().revoked_at is None


def test_a_patient_token_is_refused_on_a_staff_endpoint(clock, client):
    token = sign_in(client)

    listed = client.get("/api/v1/staff/closures", **bearer(token))
    created = client.post(
        "/api/v1/staff/closures", {}, content_type="application/json", **bearer(token)
    )

    assert listed.status_code == created.status_code == 403
    assert listed.json() == {
        "code": "permission_denied",
        "detail": "You do not have permission to perform this action.",
    }


def test_only_post_and_delete_are_allowed(clock, client):
    assert client.get(TOKEN_URL).status_code == 405
    assert client.put(TOKEN_URL, {}, content_type="application/json").status_code == 405
    assert client.options(CODE_URL).status_code == 405
    assert client.get(CODE_URL).status_code == 405


# --- the token services -------------------------------------------------------------------


def test_a_patient_token_never_counts_as_a_second_factor(clock):
    account = factories.AccountFactory()

    row, raw = api_token_issue(account=account, second_factor=True, now=NOW)

    assert row.second_factor is False
    assert row.key_hash == token_hash(raw)
    assert row.expires_at == NOW + datetime.timedelta(days=30)


def test_no_token_for_an_inactive_account(clock):
    account = factories.AccountFactory(is_active=False)

    with pytest.raises(SignInNotAllowed):
        api_token_issue(account=account, second_factor=False, now=NOW)
    assert not ApiToken.objects.exists()


def test_revoking_twice_keeps_the_first_time(clock):
    row, _ = api_token_issue(account=factories.AccountFactory(), second_factor=False, now=NOW)
    api_token_revoke(token=row, now=NOW)

    again = api_token_revoke(token=row, now=NOW + datetime.timedelta(hours=1))

    assert again.revoked_at == NOW
