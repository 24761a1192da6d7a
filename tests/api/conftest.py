"""Callers of the API, and two patients' worth of objects for them to reach for.

`api_world` is patient A and patient B (each an account, a patient, a booking with its
confirmation message, a waitlist entry, a bearer token), the staff roles with verified
second-factor tokens, and staff without a second factor (a plain session and a
password-only token), with the second factor required as in production.
"""

import dataclasses
import datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.test import Client
from django.utils import timezone

from booking import services as booking_services
from booking.models import Closure, WaitlistEntry
from clinics.models import Channel
from notifications.models import OutboxMessage
from patients.authentication import token_hash
from patients.models import ApiToken
from staff.roles import DOCTOR, FRONT_DESK, OPS, roles_sync
from tests import factories

# Names, phones and codes that never occur inside one another: a body holding one of
# B's is B's data, not a coincidence.
PEOPLE = {
    "a": {"real_name": "张甲一", "phone": "13911110001"},
    "b": {"real_name": "李乙二", "phone": "13922220002"},
}


@dataclasses.dataclass
class Caller:
    name: str
    kind: str  # anonymous, patient, staff, staff_no_otp
    account: object | None
    client: Client
    token: str = ""
    patient_key: str = ""  # "a" or "b" for patients

    def as_request(self) -> SimpleNamespace:
        """What DRF's permission check sees for this caller: user and auth."""
        if self.account is None:
            return SimpleNamespace(user=AnonymousUser(), auth=None)
        row = ApiToken.objects.filter(key_hash=token_hash(self.token)).first()
        user = type(self.account).objects.get(pk=self.account.pk)
        verified = bool(row and row.second_factor)
        user.is_verified = lambda: verified
        return SimpleNamespace(user=user, auth=row)

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers for a client outside Django's test client (schemathesis, curl)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclasses.dataclass
class PatientSide:
    account: object
    patient: object
    booking: object
    waitlist_entry: object
    message: object
    token: str

    def secrets(self) -> list[str]:
        """What no other patient and no anonymous caller may ever read."""
        return [self.patient.real_name, self.patient.phone, self.booking.code]


@dataclasses.dataclass
class ApiWorld:
    a: PatientSide
    b: PatientSide
    callers: dict[str, Caller]
    shared: dict[str, object]

    def values(self, side: PatientSide) -> dict[str, object]:
        """Path parameter values by object kind, the owned ones from `side`."""
        return {
            "patient": side.patient.pk,
            "booking": side.booking.pk,
            "booking_code": side.booking.code,
            "waitlist_entry": side.waitlist_entry.pk,
            "message": side.message.pk,
            "fhir_appointment": f"booking-{side.booking.pk}",
            "fhir_schedule": f"doctor-{self.shared['doctor'].pk}",
            **{kind: obj.pk for kind, obj in self.shared.items()},
            "department_code": self.shared["department"].code,
        }

    def side(self, key: str) -> PatientSide:
        return self.a if key == "a" else self.b


def issue_token(account, *, second_factor: bool, raw: str) -> str:
    """A bearer token row with a known raw token (only its SHA-256 is stored)."""
    now = timezone.now()
    ApiToken.objects.create(
        account=account,
        key_hash=token_hash(raw),
        second_factor=second_factor,
        created_at=now,
        expires_at=now + datetime.timedelta(days=30),
    )
    return raw


def _client(token: str = "") -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # A crash is an answer (500) the matrix reports, not an exception that stops it.
    return Client(headers=headers, raise_request_exception=False)


def _patient_side(key: str, slot, full_session) -> PatientSide:
    person = PEOPLE[key]
    account = factories.AccountFactory(username=person["phone"], phone=person["phone"])
    patient = factories.PatientFactory(account=account, real_name=person["real_name"])
    booking = booking_services.booking_create(
        patient=patient,
        slot=slot,
        channel=Channel.ONLINE,
        requested_by=account,
        idempotency_key=f"api-tests-{key}",
    )
    entry = WaitlistEntry.objects.create(
        patient=patient, session=full_session, requested_by=account
    )
    message = OutboxMessage.objects.filter(account=account).order_by("pk").first()
    assert message is not None, "booking_create writes the confirmation message"
    token = issue_token(account, second_factor=False, raw=f"patient-{key}-token")
    return PatientSide(account, patient, booking, entry, message, token)


def _staff(username: str, *groups: str):
    user = factories.StaffFactory(username=username)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def api_world(db, settings) -> ApiWorld:
    settings.YUYUE_ADMIN_REQUIRE_OTP = True
    # Each test's own throttle counters: never another worker's, never Redis.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "api-tests",
        }
    }
    # Password checks (staff sign-in, fuzzed) at test speed, not PBKDF2's.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    roles_sync(group_model=Group, permission_model=Permission)

    session = factories.SessionFactory()
    factories.BookingPolicyFactory(department=session.department)
    slot = factories.slot_with_quotas(session=session, online=5, phone=2, walkin=2)
    full_session = factories.SessionFactory(doctor=session.doctor, half_day="afternoon")
    full_session.starts_at += datetime.timedelta(hours=6)
    full_session.ends_at += datetime.timedelta(hours=6)
    full_session.save()
    factories.slot_with_quotas(session=full_session, online=0)
    a = _patient_side("a", slot, full_session)
    b = _patient_side("b", slot, full_session)
    ops = _staff("ops", OPS)
    closure = Closure.objects.create(
        scope=Closure.Scope.SESSION,
        session=full_session,
        starts_at=timezone.now() + datetime.timedelta(days=3),
        reason=Closure.Reason.MAINTENANCE,
        notice="系统维护",
        notice_en="Maintenance",
        created_by=ops,
    )

    callers = {"anonymous": Caller("anonymous", "anonymous", None, _client())}
    for side_key, side in (("a", a), ("b", b)):
        name = f"patient_{side_key}"
        callers[name] = Caller(
            name, "patient", side.account, _client(side.token), side.token, side_key
        )
    # The doctor role sees its own sessions only: this doctor runs both sessions.
    doctor = _staff("doctor", DOCTOR)
    session.doctor.account = doctor
    session.doctor.save(update_fields=["account"])
    for name, user in (
        ("front_desk", _staff("front_desk", FRONT_DESK)),
        ("ops", ops),
        ("doctor", doctor),
    ):
        token = issue_token(user, second_factor=True, raw=f"staff-{name}-token")
        callers[name] = Caller(name, "staff", user, _client(token), token)
    # Staff holding every role's permissions but no verified second factor.
    no_otp = _staff("no_otp", FRONT_DESK, OPS, DOCTOR)
    session_client = _client()
    session_client.force_login(no_otp)
    callers["staff_session_no_otp"] = Caller(
        "staff_session_no_otp", "staff_no_otp", no_otp, session_client
    )
    token = issue_token(no_otp, second_factor=False, raw="staff-no-otp-token")
    callers["staff_token_no_otp"] = Caller(
        "staff_token_no_otp", "staff_no_otp", no_otp, _client(token), token
    )
    shared = {
        "department": session.department,
        "doctor": session.doctor,
        "session": session,
        "slot": slot,
        "closure": closure,
        "room": session.room,
    }
    return ApiWorld(a=a, b=b, callers=callers, shared=shared)
