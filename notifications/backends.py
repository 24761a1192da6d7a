"""Message senders. Console by default; real providers are chosen in settings."""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("yuyue.sms")


class ConsoleSMSBackend:
    def send(self, *, recipient: str, text: str) -> None:
        # Only the last four digits of a phone number ever reach a log line.
        logger.info("SMS to ***%s: %s", recipient[-4:], text)


def sms_backend():
    return import_string(settings.YUYUE_SMS_BACKEND)()
