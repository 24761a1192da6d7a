"""Sending: the providers, the retry classification, the failed state and its retry."""

import datetime
import json
import time

import pytest
from django.core import mail

from notifications import backends, services, tasks
from notifications.models import OutboxMessage
from tests import factories
from tests.notifications.conftest import DAYTIME

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("daytime")]

BOOKING = {
    "code": "ACDE3467",
    "patient": "张伟",
    "department": "眼科",
    "doctor": "王建国",
    "when": "2026-11-24 08:00",
    "queue_number": 3,
}


def enqueue(*, channel="sms", recipient="13800138000", account=None, kind="booking_confirmed"):
    return services.message_enqueue(
        kind=kind,
        dedupe_key=f"test:{OutboxMessage.objects.count()}",
        recipient=recipient,
        language="zh-hans",
        context=BOOKING,
        account_id=account.pk if account else None,
        channel=channel,
    )


def reload(message: OutboxMessage) -> OutboxMessage:
    message.refresh_from_db()
    return message


@pytest.fixture
def gateway(settings, provider):
    settings.YUYUE_SMS_BACKEND = "http"
    settings.YUYUE_SMS_HTTP_URL = provider.url + "/sms"
    settings.YUYUE_SMS_HTTP_SECRET = "s3cret"
    settings.YUYUE_SMS_HTTP_TIMEOUT = 2
    return provider


# --- the HTTP SMS gateway -----------------------------------------------------------------


def test_gateway_gets_a_signed_json_post_with_the_message_key(gateway):
    gateway.default = (200, {"message_id": "gw-1"})
    message = enqueue()

    assert services.message_send(message_id=message.pk) is True

    (request,) = gateway.requests
    body = request["body"]
    assert request["method"] == "POST"
    assert request["path"] == "/sms"
    assert json.loads(body) == {
        "id": f"yuyue-{message.pk}",
        "to": "13800138000",
        "text": "【预约】张伟预约成功：2026-11-24 08:00，眼科，王建国医生，第3号，预约号ACDE3467。"
        "带眼镜和旧报告，散瞳后勿驾车。",
        "kind": "booking_confirmed",
        "language": "zh-hans",
    }
    headers = request["headers"]
    assert headers["Idempotency-Key"] == f"yuyue-{message.pk}"
    assert headers["X-Yuyue-Signature"] == backends.sign(
        "s3cret", headers["X-Yuyue-Timestamp"], body
    )
    message = reload(message)
    assert (message.status, message.provider_reference) == (OutboxMessage.Status.SENT, "gw-1")


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_gateway_5xx_and_busy_answers_are_retried_later(gateway, status, settings):
    settings.YUYUE_OUTBOX_RETRY_BASE_SECONDS = 30
    gateway.default = (status, {"error": "busy"})
    message = enqueue()

    attempt = services.message_attempt(message_id=message.pk)

    assert attempt.outcome == "retry"
    assert 15 <= attempt.retry_in <= 30
    message = reload(message)
    assert message.status == OutboxMessage.Status.PENDING
    assert message.attempts == 1
    assert message.last_error.startswith(f"HTTP {status}")
    assert message.due_at == DAYTIME + datetime.timedelta(seconds=attempt.retry_in)
    # not before its back-off
    assert services.message_send(message_id=message.pk) is False


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_gateway_4xx_fails_at_once(gateway, status):
    gateway.default = (status, {"error": "invalid number"})
    message = enqueue()

    assert services.message_attempt(message_id=message.pk).outcome == "failed"

    message = reload(message)
    assert message.status == OutboxMessage.Status.FAILED
    assert message.attempts == 1
    assert message.last_error == f'HTTP {status}: {{"error": "invalid number"}}'
    assert len(gateway.requests) == 1


def test_gateway_409_means_it_already_has_the_message(gateway):
    gateway.default = (409, {"error": "duplicate id"})
    message = enqueue()
    assert services.message_send(message_id=message.pk) is True


def test_gateway_unreachable_is_retried(settings):
    settings.YUYUE_SMS_BACKEND = "http"
    settings.YUYUE_SMS_HTTP_URL = "http://127.0.0.1:9/sms"  # discard port: refused
    settings.YUYUE_SMS_HTTP_SECRET = "s"
    message = enqueue()
    assert services.message_attempt(message_id=message.pk).outcome == "retry"
    assert reload(message).last_error.startswith("network:")


def test_gateway_timeout_is_retried(gateway, settings, monkeypatch):
    settings.YUYUE_SMS_HTTP_TIMEOUT = 0.2
    original = gateway.server.RequestHandlerClass.do_POST

    def slow(handler):
        time.sleep(0.5)
        original(handler)

    monkeypatch.setattr(gateway.server.RequestHandlerClass, "do_POST", slow)
    message = enqueue()
    assert services.message_attempt(message_id=message.pk).outcome == "retry"
    assert reload(message).last_error.startswith("network:")


def test_after_the_last_attempt_the_message_fails(gateway, settings, daytime):
    settings.YUYUE_OUTBOX_MAX_ATTEMPTS = 3
    gateway.default = (500, {})
    message = enqueue()
    outcomes = []
    for _ in range(3):
        outcomes.append(services.message_attempt(message_id=message.pk).outcome)
        daytime.shift(datetime.timedelta(hours=2))
    assert outcomes == ["retry", "retry", "failed"]
    message = reload(message)
    assert (message.status, message.attempts) == (OutboxMessage.Status.FAILED, 3)
    assert len(gateway.requests) == 3


def test_retry_delay_grows_exponentially_with_jitter_and_a_cap(settings):
    settings.YUYUE_OUTBOX_RETRY_BASE_SECONDS = 30
    settings.YUYUE_OUTBOX_RETRY_MAX_SECONDS = 3600
    for attempts, low, high in [(1, 15, 30), (2, 30, 60), (4, 120, 240), (12, 1800, 3600)]:
        delays = {services.retry_delay(attempts) for _ in range(50)}
        assert all(low <= d <= high for d in delays), (attempts, delays)
        assert len(delays) > 1  # jitter


def test_the_task_schedules_a_short_retry_on_the_broker(gateway, monkeypatch, settings):
    settings.YUYUE_OUTBOX_COUNTDOWN_MAX_SECONDS = 300
    published = []
    monkeypatch.setattr(
        services, "_publish", lambda pk, countdown=None: published.append((pk, countdown))
    )
    gateway.default = (503, {})
    message = enqueue()

    assert tasks.outbox_send_task(message.pk) == "retry"

    ((pk, countdown),) = published
    assert pk == message.pk
    assert 15 <= countdown <= 30


def test_a_long_retry_waits_in_its_row_for_the_sweep(gateway, monkeypatch, settings):
    settings.YUYUE_OUTBOX_COUNTDOWN_MAX_SECONDS = 10
    published = []
    monkeypatch.setattr(services, "_publish", lambda pk, countdown=None: published.append(pk))
    gateway.default = (503, {})
    assert tasks.outbox_send_task(enqueue().pk) == "retry"
    assert published == []


def test_an_attempt_that_lost_its_row_cannot_mark_it(monkeypatch, sms_outbox):
    """The attempt id fences: a slow attempt whose lease ran out and whose row was sent
    by another attempt meanwhile leaves the row as the other attempt left it."""
    message = enqueue()
    real_send = backends.LocmemSMSBackend.send
    nested = []

    def send_while_another_takes_over(self, outgoing):
        if not nested:
            nested.append(True)
            # meanwhile: the lease runs out, the sweep gives the row back, another sends it
            services.outbox_sweep(sending_lease_seconds=-1, older_than_seconds=10**6)
            assert services.message_attempt(message_id=message.pk).outcome == "sent"
            raise backends.PermanentSendError("the slow attempt ends badly")
        return real_send(self, outgoing)

    monkeypatch.setattr(backends.LocmemSMSBackend, "send", send_while_another_takes_over)

    assert services.message_attempt(message_id=message.pk).outcome == "failed"
    message = reload(message)
    assert message.status == OutboxMessage.Status.SENT  # not overwritten by the loser
    assert message.attempts == 2
    assert len(sms_outbox) == 1


def test_an_unexpected_error_is_retried_not_lost(monkeypatch, sms_outbox):
    def boom(self, outgoing):
        raise ValueError("bug")

    monkeypatch.setattr(backends.LocmemSMSBackend, "send", boom)
    message = enqueue()
    assert services.message_attempt(message_id=message.pk).outcome == "retry"
    assert reload(message).last_error == "unexpected: ValueError: bug"


def test_no_phone_number_fails_at_once(sms_outbox):
    message = enqueue(recipient="")
    assert services.message_attempt(message_id=message.pk).outcome == "failed"
    assert reload(message).last_error == "no phone number"


# --- local backends ---------------------------------------------------------------------


def test_file_backend_writes_one_json_line_per_message(settings, tmp_path):
    path = tmp_path / "sms.jsonl"
    settings.YUYUE_SMS_BACKEND = "file"
    settings.YUYUE_SMS_FILE_PATH = str(path)
    first, second = enqueue(), enqueue()
    services.message_send(message_id=first.pk)
    services.message_send(message_id=second.pk)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["key"] for line in lines] == [f"yuyue-{first.pk}", f"yuyue-{second.pk}"]
    assert lines[0]["recipient"] == "13800138000"


def test_email_carries_the_appointment_as_ics(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.YUYUE_HOSPITAL_NAME = "示范医院"
    message = enqueue(channel="email", recipient="zhang@example.org")

    assert services.message_send(message_id=message.pk) is True

    (email,) = mail.outbox
    assert email.to == ["zhang@example.org"]
    assert email.subject == "示范医院 · 预约成功"
    assert email.body.startswith("【预约】张伟预约成功")
    ((name, content, mimetype),) = email.attachments
    assert name == "appointment.ics"
    assert mimetype == "text/calendar; method=PUBLISH"
    assert b"UID:booking-ACDE3467@yuyue" in (
        content if isinstance(content, bytes) else content.encode()
    )
    assert reload(message).delivered_via == OutboxMessage.Channel.EMAIL


def test_email_refused_recipient_fails(settings, monkeypatch):
    import smtplib

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    def refuse(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({"x@example.org": (550, b"no such user")})

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    message = enqueue(channel="email", recipient="x@example.org")
    assert services.message_attempt(message_id=message.pk).outcome == "failed"


# --- WeChat ---------------------------------------------------------------------------------


@pytest.fixture
def wechat(settings, provider):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.YUYUE_WECHAT_APP_ID = "wx-app"
    settings.YUYUE_WECHAT_APP_SECRET = "wx-secret"
    settings.YUYUE_WECHAT_API_BASE = provider.url
    settings.YUYUE_WECHAT_TEMPLATES = {"booking_confirmed": "TPL-CONFIRMED"}
    from django.core.cache import cache

    cache.clear()
    return provider


def wechat_paths(provider) -> list[str]:
    return [r["path"] for r in provider.requests]


def test_an_account_with_an_openid_gets_wechat_and_the_token_is_cached(wechat, sms_outbox):
    account = factories.AccountFactory(wechat_openid="o-123")
    wechat.answers = [
        (200, {"access_token": "T1", "expires_in": 7200}),
        (200, {"errcode": 0, "msgid": 42}),
        (200, {"errcode": 0, "msgid": 43}),
    ]
    first, second = enqueue(account=account), enqueue(account=account)

    assert services.message_send(message_id=first.pk) is True
    assert services.message_send(message_id=second.pk) is True

    assert wechat_paths(wechat) == [
        "/cgi-bin/token",
        "/cgi-bin/message/template/send",
        "/cgi-bin/message/template/send",
    ]
    assert wechat.requests[0]["query"] == {
        "grant_type": "client_credential",
        "appid": "wx-app",
        "secret": "wx-secret",
    }
    assert wechat.requests[1]["query"] == {"access_token": "T1"}
    payload = wechat.json(1)
    assert payload["touser"] == "o-123"
    assert payload["template_id"] == "TPL-CONFIRMED"
    assert payload["data"]["code"] == {"value": "ACDE3467"}
    assert payload["data"]["text"]["value"].startswith("【预约】张伟预约成功")
    first = reload(first)
    assert (first.delivered_via, first.provider_reference) == ("wechat", "42")
    assert sms_outbox == []


def test_an_expired_token_is_fetched_again_once(wechat, sms_outbox):
    from django.core.cache import cache

    cache.set("yuyue:wechat:access_token:wx-app", "OLD", 600)
    account = factories.AccountFactory(wechat_openid="o-123")
    wechat.answers = [
        (200, {"errcode": 40001, "errmsg": "invalid credential"}),
        (200, {"access_token": "NEW", "expires_in": 7200}),
        (200, {"errcode": 0, "msgid": 7}),
    ]
    assert services.message_send(message_id=enqueue(account=account).pk) is True
    assert [r["query"].get("access_token") for r in wechat.requests] == ["OLD", None, "NEW"]
    assert cache.get("yuyue:wechat:access_token:wx-app") == "NEW"


def test_a_wechat_refusal_falls_back_to_sms(wechat, sms_outbox):
    account = factories.AccountFactory(wechat_openid="o-unsubscribed")
    wechat.answers = [
        (200, {"access_token": "T1", "expires_in": 7200}),
        (200, {"errcode": 43004, "errmsg": "require subscribe"}),
    ]
    message = enqueue(account=account)
    assert services.message_send(message_id=message.pk) is True
    assert [o.recipient for o in sms_outbox] == ["13800138000"]
    assert reload(message).delivered_via == "sms"


def test_without_an_openid_or_without_wechat_settings_it_is_sms(wechat, settings, sms_outbox):
    plain = factories.AccountFactory()
    assert services.message_send(message_id=enqueue(account=plain).pk) is True
    settings.YUYUE_WECHAT_APP_ID = ""
    linked = factories.AccountFactory(wechat_openid="o-1")
    assert services.message_send(message_id=enqueue(account=linked).pk) is True
    assert wechat.requests == []
    assert len(sms_outbox) == 2


# --- Aliyun ------------------------------------------------------------------------------------


@pytest.fixture
def aliyun(settings, provider):
    settings.YUYUE_SMS_BACKEND = "aliyun"
    settings.YUYUE_ALIYUN_ACCESS_KEY_ID = "ak"
    settings.YUYUE_ALIYUN_ACCESS_KEY_SECRET = "sk"
    settings.YUYUE_ALIYUN_SMS_ENDPOINT = f"127.0.0.1:{provider.port}"
    settings.YUYUE_ALIYUN_SMS_PROTOCOL = "http"
    settings.YUYUE_ALIYUN_SMS_SIGN_NAME = "示范医院"
    settings.YUYUE_ALIYUN_SMS_TEMPLATES = {"booking_confirmed": "SMS_001"}
    return provider


def aliyun_params(request: dict) -> dict:
    import urllib.parse

    params = dict(request["query"])
    params.update(urllib.parse.parse_qsl(request["body"].decode()))
    return params


def test_aliyun_sends_the_kind_s_template_through_the_sdk(aliyun):
    aliyun.default = (200, {"Code": "OK", "Message": "OK", "BizId": "BIZ-1", "RequestId": "r"})
    message = enqueue()

    assert services.message_send(message_id=message.pk) is True

    params = aliyun_params(aliyun.requests[0])
    assert aliyun.requests[0]["headers"].get("x-acs-action", params.get("Action")) == "SendSms", (
        aliyun.requests[0]
    )
    assert params["PhoneNumbers"] == "13800138000"
    assert params["SignName"] == "示范医院"
    assert params["TemplateCode"] == "SMS_001"
    assert params["OutId"] == f"yuyue-{message.pk}"
    assert json.loads(params["TemplateParam"])["code"] == "ACDE3467"
    assert reload(message).provider_reference == "BIZ-1"


@pytest.mark.parametrize(
    ("code", "outcome"),
    [("isv.MOBILE_NUMBER_ILLEGAL", "failed"), ("isv.BUSINESS_LIMIT_CONTROL", "retry")],
)
def test_aliyun_codes_are_classified(aliyun, code, outcome):
    aliyun.default = (200, {"Code": code, "Message": "no", "RequestId": "r"})
    message = enqueue()
    assert services.message_attempt(message_id=message.pk).outcome == outcome
    assert reload(message).last_error == f"aliyun {code}: no"


def test_aliyun_server_error_is_retried(aliyun):
    aliyun.default = (503, {"Code": "ServiceUnavailable", "Message": "busy", "RequestId": "r"})
    assert services.message_attempt(message_id=enqueue().pk).outcome == "retry"


def test_aliyun_kind_without_template_fails(aliyun):
    message = enqueue(kind="sign_in_code")
    assert services.message_attempt(message_id=message.pk).outcome == "failed"
    assert aliyun.requests == []
