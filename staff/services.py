"""Setting up a staff member's second factor.

Someone allowed to manage devices starts it (`totp_enrolment_start`) and hands the person
a link; the person confirms it with their password and a first code
(`totp_enrolment_confirm`). The link carries a signed device id, lives 72 hours and
dies with the device's confirmation (or a newer link for the same person).
"""

import datetime

from django.core import signing
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from patients.models import Account

ENROLMENT_MAX_AGE = datetime.timedelta(hours=72)
BACKUP_CODE_COUNT = 10
_SALT = "staff.enrolment"
DEVICE_NAME = "authenticator"
BACKUP_DEVICE_NAME = "backup"


def enrolment_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT)


@transaction.atomic
def totp_enrolment_start(*, account: Account) -> tuple[TOTPDevice, str]:
    """A new unconfirmed authenticator for `account`, and the link token for it.

    Earlier unconfirmed devices of the account are deleted, so only the newest link
    works. Confirmed devices stay until the new one is confirmed: the person can still
    sign in meanwhile. Refuses (ValueError) an account that is not active staff.
    """
    if not (account.is_active and account.is_staff):
        raise ValueError("second factors are for active staff accounts")
    TOTPDevice.objects.filter(user=account, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=account, name=DEVICE_NAME, confirmed=False)
    token = enrolment_signer().sign(f"{device.pk}:{account.pk}")
    return device, token


def totp_enrolment_device(*, token: str) -> TOTPDevice | None:
    """The unconfirmed device a link token names; None when the link is forged, older
    than 72 hours, or its device was confirmed or replaced."""
    try:
        value = enrolment_signer().unsign(token, max_age=ENROLMENT_MAX_AGE)
        device_pk, account_pk = (int(part) for part in value.split(":"))
    except (signing.BadSignature, ValueError):
        return None
    return (
        TOTPDevice.objects.select_related("user")
        .filter(pk=device_pk, user_id=account_pk, confirmed=False, user__is_active=True)
        .first()
    )


@transaction.atomic
def totp_enrolment_confirm(*, device: TOTPDevice) -> list[str]:
    """Confirm `device` (its code was checked by the caller) and give the person 10 new
    backup codes, returned to be shown once. Every other device of the person goes: the
    lost phone an enrolment replaces, and the old backup codes."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if device.confirmed:
        raise ValueError("this device is already confirmed")
    account = device.user
    TOTPDevice.objects.filter(user=account).exclude(pk=device.pk).delete()
    StaticDevice.objects.filter(user=account).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    backup = StaticDevice.objects.create(user=account, name=BACKUP_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=backup, token=code) for code in codes)
    return codes
