"""Message senders, chosen in settings; each provider is off unless configured.

Every backend takes an `Outgoing` and returns the provider's reference (or ""), or
raises `RetryableSendError` / `PermanentSendError`. `Outgoing.key` is the same on
every attempt of one message: providers that accept an idempotency key get it, so a
resend after a lost worker is dropped by the provider instead of reaching the patient
twice (see docs/operations.md, "Exactly once").
"""

import dataclasses
import hashlib
import hmac
import json
import logging
import smtplib
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, get_connection
from django.utils.module_loading import import_string

from notifications import messages
from notifications.exceptions import PermanentSendError, RetryableSendError

logger = logging.getLogger("yuyue.sms")

RETRYABLE_HTTP = frozenset({408, 425, 429})


@dataclasses.dataclass(frozen=True)
class Outgoing:
    key: str  # stable per message: the provider-side idempotency key
    kind: str
    language: str
    recipient: str
    text: str
    context: dict
    subject: str = ""


def mask(recipient: str) -> str:
    return "***" + recipient[-4:]


# --- SMS ---------------------------------------------------------------------------


class ConsoleSMSBackend:
    """Development and demos: no SMS leaves the machine.

    The log line says only which kind of message went to which masked number: a
    message's text (a sign-in code, a booking code, a name) never reaches a log, which
    production collects. With DEBUG on (`make run`), the text is also printed on the
    terminal, outside logging, so a developer can copy the sign-in code."""

    def send(self, outgoing: Outgoing) -> str:
        # Only the last four digits of a phone number ever reach a log line.
        logger.info("SMS %s to %s (text not logged)", outgoing.kind, mask(outgoing.recipient))
        if settings.DEBUG:
            print(f"SMS to {mask(outgoing.recipient)}: {outgoing.text}", flush=True)
        return ""


class LocmemSMSBackend:
    """Tests: messages collect in `LocmemSMSBackend.outbox` (like django.core.mail.outbox)."""

    outbox: list[Outgoing] = []

    def send(self, outgoing: Outgoing) -> str:
        type(self).outbox.append(outgoing)
        return f"locmem-{len(type(self).outbox)}"


class FileSMSBackend:
    """One JSON line per message in YUYUE_SMS_FILE_PATH (demo machines, manual checks)."""

    _lock = threading.Lock()

    def send(self, outgoing: Outgoing) -> str:
        line = json.dumps(dataclasses.asdict(outgoing), ensure_ascii=False)
        with self._lock, open(settings.YUYUE_SMS_FILE_PATH, "a", encoding="utf-8") as file:
            file.write(line + "\n")
        return ""


def _http_request(request: urllib.request.Request, *, timeout: float) -> tuple[int, bytes]:
    """Status and body; network trouble is retryable."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (URL from settings)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read() or b""
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        raise RetryableSendError(f"network: {exc}") from exc


def classify_http_status(status: int, body: bytes) -> None:
    """2xx and 409 (the gateway already has this key) are accepted; 408/425/429/5xx are
    retryable; any other status is permanent."""
    if 200 <= status < 300 or status == 409:
        return
    detail = body[:200].decode("utf-8", "replace")
    if status >= 500 or status in RETRYABLE_HTTP:
        raise RetryableSendError(f"HTTP {status}: {detail}")
    raise PermanentSendError(f"HTTP {status}: {detail}")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class HttpSMSBackend:
    """A generic SMS gateway: JSON POST, HMAC-SHA256 signed, with an idempotency key.

    Body: {"id", "to", "text", "kind", "language"}. Headers: `Idempotency-Key` (= id),
    `X-Yuyue-Timestamp` (Unix seconds), `X-Yuyue-Signature` = hex HMAC-SHA256 of
    "<timestamp>.<body>" with YUYUE_SMS_HTTP_SECRET.
    """

    def __init__(self) -> None:
        self.url = settings.YUYUE_SMS_HTTP_URL
        self.secret = settings.YUYUE_SMS_HTTP_SECRET
        self.timeout = settings.YUYUE_SMS_HTTP_TIMEOUT
        if not self.url or not self.secret:
            raise ImproperlyConfigured("HttpSMSBackend needs YUYUE_SMS_HTTP_URL and _SECRET")

    def send(self, outgoing: Outgoing) -> str:
        body = json.dumps(
            {
                "id": outgoing.key,
                "to": outgoing.recipient,
                "text": outgoing.text,
                "kind": outgoing.kind,
                "language": outgoing.language,
            },
            ensure_ascii=False,
        ).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": outgoing.key,
                "X-Yuyue-Timestamp": timestamp,
                "X-Yuyue-Signature": sign(self.secret, timestamp, body),
            },
        )
        status, response = _http_request(request, timeout=self.timeout)
        classify_http_status(status, response)
        try:
            return str(json.loads(response or b"{}").get("message_id", ""))[:120]
        except (ValueError, AttributeError):
            return ""


# Aliyun answers with a code; these mean "later", everything else but OK means "never".
ALIYUN_RETRYABLE = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "isp.SYSTEM_ERROR",
        "isp.RAM_PERMISSION_DENY",
        "Throttling",
        "Throttling.User",
        "ServiceUnavailable",
        "InternalError",
        "SignatureNonceUsed",
    }
)


class AliyunSMSBackend:
    """Aliyun SMS through its official SDK (alibabacloud-dysmsapi20170525).

    Aliyun sends only approved templates: YUYUE_ALIYUN_SMS_TEMPLATES maps each kind to a
    template code; the template's variables are the context's keys (lists joined).
    `OutId` carries the message key for reconciliation in Aliyun's delivery reports.
    """

    def __init__(self) -> None:
        if not (settings.YUYUE_ALIYUN_ACCESS_KEY_ID and settings.YUYUE_ALIYUN_ACCESS_KEY_SECRET):
            raise ImproperlyConfigured("AliyunSMSBackend needs YUYUE_ALIYUN_ACCESS_KEY_*")
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import utils_models

        config = utils_models.Config(
            access_key_id=settings.YUYUE_ALIYUN_ACCESS_KEY_ID,
            access_key_secret=settings.YUYUE_ALIYUN_ACCESS_KEY_SECRET,
            endpoint=settings.YUYUE_ALIYUN_SMS_ENDPOINT,
            protocol=settings.YUYUE_ALIYUN_SMS_PROTOCOL,
            connect_timeout=int(settings.YUYUE_SMS_HTTP_TIMEOUT * 1000),
            read_timeout=int(settings.YUYUE_SMS_HTTP_TIMEOUT * 1000),
        )
        self.client = Client(config)

    def send(self, outgoing: Outgoing) -> str:
        from alibabacloud_dysmsapi20170525 import models as sms_models
        from darabonba.runtime import RuntimeOptions

        template = settings.YUYUE_ALIYUN_SMS_TEMPLATES.get(outgoing.kind)
        if not template:
            raise PermanentSendError(f"no Aliyun template for kind {outgoing.kind}")
        request = sms_models.SendSmsRequest(
            phone_numbers=outgoing.recipient,
            sign_name=settings.YUYUE_ALIYUN_SMS_SIGN_NAME,
            template_code=template,
            template_param=json.dumps(template_params(outgoing.context), ensure_ascii=False),
            out_id=outgoing.key[:64],
        )
        runtime = RuntimeOptions(
            autoretry=False,
            connect_timeout=int(settings.YUYUE_SMS_HTTP_TIMEOUT * 1000),
            read_timeout=int(settings.YUYUE_SMS_HTTP_TIMEOUT * 1000),
        )
        try:
            response = self.client.send_sms_with_options(request, runtime)
        except Exception as exc:
            status = getattr(exc, "status_code", None) or getattr(exc, "statusCode", None)
            code = getattr(exc, "code", "") or ""
            if (
                code in ALIYUN_RETRYABLE
                or status is None
                or int(status) >= 500
                or int(status) == 429
            ):
                raise RetryableSendError(f"aliyun {status} {code}: {exc}") from exc
            raise PermanentSendError(f"aliyun {status} {code}: {exc}") from exc
        body = response.body
        if body.code == "OK":
            return body.biz_id or ""
        reason = f"aliyun {body.code}: {body.message}"
        if body.code in ALIYUN_RETRYABLE:
            raise RetryableSendError(reason)
        raise PermanentSendError(reason)


def template_params(context: dict) -> dict[str, str]:
    """Flat string values for a provider template (lists of alternatives joined)."""
    params = {}
    for key, value in context.items():
        if isinstance(value, list):
            value = "；".join(
                " ".join(str(v) for v in item.values()) if isinstance(item, dict) else str(item)
                for item in value
            )
        elif isinstance(value, dict):
            continue
        params[key] = str(value)
    return params


BACKEND_ALIASES = {
    "console": "notifications.backends.ConsoleSMSBackend",
    "locmem": "notifications.backends.LocmemSMSBackend",
    "file": "notifications.backends.FileSMSBackend",
    "http": "notifications.backends.HttpSMSBackend",
    "aliyun": "notifications.backends.AliyunSMSBackend",
}


def sms_backend():
    path = settings.YUYUE_SMS_BACKEND
    return import_string(BACKEND_ALIASES.get(path, path))()


# --- e-mail --------------------------------------------------------------------------


class EmailBackend:
    """Django's e-mail backend (SMTP in production, console in development, locmem in
    tests), with the appointment as an .ics attachment."""

    def send(self, outgoing: Outgoing) -> str:
        email = EmailMessage(
            subject=outgoing.subject,
            body=outgoing.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[outgoing.recipient],
            headers={"X-Yuyue-Message": outgoing.key},
            connection=get_connection(timeout=settings.YUYUE_SMS_HTTP_TIMEOUT),
        )
        ics = messages.calendar(
            kind=outgoing.kind, language=outgoing.language, context=outgoing.context
        )
        if ics:
            method = "CANCEL" if outgoing.kind in messages.CANCELLATION_KINDS else "PUBLISH"
            email.attach("appointment.ics", ics, f"text/calendar; method={method}")
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentSendError(f"recipient refused: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentSendError(f"SMTP {exc.smtp_code}") from exc
            raise RetryableSendError(f"SMTP {exc.smtp_code}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryableSendError(f"SMTP: {exc}") from exc
        return ""


def email_backend() -> EmailBackend:
    return EmailBackend()


# --- WeChat Official Account template messages ----------------------------------------

WECHAT_TOKEN_INVALID = frozenset({40001, 40014, 42001})
WECHAT_RETRYABLE = frozenset({-1, 45009, 45047})


class WeChatTemplateBackend:
    """Template messages of the hospital's Official Account to a linked openid.

    The access token is cached (Django cache, shared by the workers) until five minutes
    before it expires, and fetched again at once when WeChat calls it invalid.
    YUYUE_WECHAT_TEMPLATES maps each kind to a template id; the template's fields are the
    context's keys plus `text` (the whole rendered message).
    """

    def __init__(self) -> None:
        self.app_id = settings.YUYUE_WECHAT_APP_ID
        self.secret = settings.YUYUE_WECHAT_APP_SECRET
        self.base = settings.YUYUE_WECHAT_API_BASE.rstrip("/")
        self.timeout = settings.YUYUE_SMS_HTTP_TIMEOUT
        if not (self.app_id and self.secret):
            raise ImproperlyConfigured("WeChat needs YUYUE_WECHAT_APP_ID and _APP_SECRET")

    @property
    def cache_key(self) -> str:
        return f"yuyue:wechat:access_token:{self.app_id}"

    def access_token(self, *, refresh: bool = False) -> str:
        if not refresh:
            token = cache.get(self.cache_key)
            if token:
                return token
        query = urllib.parse.urlencode(
            {"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret}
        )
        status, body = _http_request(
            urllib.request.Request(f"{self.base}/cgi-bin/token?{query}"),  # noqa: S310
            timeout=self.timeout,
        )
        classify_http_status(status, body)
        data = _json(body)
        token = data.get("access_token")
        if not token:
            code = data.get("errcode")
            error = RetryableSendError if code in WECHAT_RETRYABLE else PermanentSendError
            raise error(f"wechat token: {code} {data.get('errmsg', '')}")
        ttl = max(60, int(data.get("expires_in", 7200)) - 300)
        cache.set(self.cache_key, token, ttl)
        return token

    def send(self, outgoing: Outgoing) -> str:
        template_id = settings.YUYUE_WECHAT_TEMPLATES.get(outgoing.kind)
        if not template_id:
            raise PermanentSendError(f"no WeChat template for kind {outgoing.kind}")
        fields = {**template_params(outgoing.context), "text": outgoing.text}
        payload = json.dumps(
            {
                "touser": outgoing.recipient,
                "template_id": template_id,
                "client_msg_id": outgoing.key[:64],  # WeChat drops a repeat of this id
                "data": {key: {"value": value} for key, value in fields.items()},
            },
            ensure_ascii=False,
        ).encode()
        data = self._post(payload, token=self.access_token())
        if data.get("errcode") in WECHAT_TOKEN_INVALID:
            data = self._post(payload, token=self.access_token(refresh=True))
        code = data.get("errcode", 0)
        if code == 0:
            return str(data.get("msgid", ""))
        reason = f"wechat {code}: {data.get('errmsg', '')}"
        if code in WECHAT_RETRYABLE or code in WECHAT_TOKEN_INVALID:
            raise RetryableSendError(reason)
        raise PermanentSendError(reason)

    def _post(self, payload: bytes, *, token: str) -> dict:
        url = f"{self.base}/cgi-bin/message/template/send?access_token={urllib.parse.quote(token)}"
        request = urllib.request.Request(  # noqa: S310
            url, data=payload, method="POST", headers={"Content-Type": "application/json"}
        )
        status, body = _http_request(request, timeout=self.timeout)
        classify_http_status(status, body)
        return _json(body)


def _json(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise RetryableSendError("provider answered with something other than JSON") from exc
    return data if isinstance(data, dict) else {}


def wechat_backend() -> WeChatTemplateBackend | None:
    """The WeChat sender, or None when WeChat is not configured."""
    if not (settings.YUYUE_WECHAT_APP_ID and settings.YUYUE_WECHAT_APP_SECRET):
        return None
    return WeChatTemplateBackend()
