"""The audit log: every staff change has an entry with who, what, before and after, and
no entry holds a full ID number or a full phone number."""

import datetime
import re

import pytest
import time_machine
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from booking import services
from booking.models import Booking, Closure
from clinics.models import Quota, Session
from patients.models import Account, Patient
from tests import factories
from tests.booking.conftest import NOW, SHANGHAI
from tests.booking.test_create import book, slot_in

pytestmark = pytest.mark.django_db

GB_EXAMPLE = "11010519491231002X"
PHONE = "13912345678"
ACCOUNT_PHONE = "13700001111"
# What must never be stored: an 18-character resident ID, an 11-digit mainland mobile.
FULL_ID = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
FULL_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk(db):
    return factories.StaffFactory(username="desk.li")


@pytest.fixture
def wang(db):
    account = factories.AccountFactory(username=ACCOUNT_PHONE, phone=ACCOUNT_PHONE)
    return factories.PatientFactory(
        account=account, real_name="王秀英", document_number=GB_EXAMPLE, phone=PHONE
    )


@pytest.fixture
def booking_today(clock, wang):
    return book(wang, slot_in(0, hour=14))


def entries(obj) -> list[LogEntry]:
    return list(LogEntry.objects.get_for_object(obj).order_by("pk"))


def last_change(obj) -> tuple:
    entry = entries(obj)[-1]
    return entry.actor, entry.action, entry.changes_dict


def assert_no_personal_data_stored() -> None:
    for entry in LogEntry.objects.all():
        for text in (str(entry.changes), entry.object_repr, str(entry.additional_data)):
            assert not FULL_ID.search(text), (entry.content_type, text)
            assert not FULL_MOBILE.search(text), (entry.content_type, text)


# --- bookings ----------------------------------------------------------------------------


def test_a_patients_own_booking_writes_no_entry(booking_today, wang):
    services.booking_cancel(booking=booking_today, requested_by=wang.account)

    assert entries(booking_today) == []


def test_staff_cancel_is_audited(booking_today, desk):
    with set_actor(desk):
        services.booking_cancel(booking=booking_today, requested_by=desk, reason="患者来电取消")

    actor, action, changes = last_change(booking_today)
    assert (actor, action) == (desk, LogEntry.Action.UPDATE)
    assert changes["status"] == ["confirmed", "cancelled_by_patient"]
    assert changes["cancel_reason"] == ["", "患者来电取消"]
    assert changes["cancelled_by"] == ["None", str(desk.pk)]
    assert_no_personal_data_stored()


def test_check_in_no_show_and_its_undo_are_audited(booking_today, desk, clock):
    with set_actor(desk):
        services.booking_check_in(booking=booking_today, checked_in_by=desk)
    checked_in = last_change(booking_today)
    other = book(factories.PatientFactory(), slot_in(0, hour=14))
    clock.move_to(other.slot.ends_at)
    with set_actor(desk):
        services.booking_mark_no_show(booking=other, marked_by=desk)
        marked = last_change(other)
        services.booking_no_show_undo(booking=other, undone_by=desk, reason="窗口纸质签到")
    undone = last_change(other)

    assert checked_in[0] == desk
    assert checked_in[2]["status"] == ["confirmed", "checked_in"]
    assert checked_in[2]["checked_in_at"][0] == "None"
    assert marked[2]["status"] == ["confirmed", "no_show"]
    assert undone[0] == desk
    assert undone[2]["status"] == ["no_show", "confirmed"]  # the session goes on
    assert undone[2]["status_note"] == ["", "窗口纸质签到"]
    assert_no_personal_data_stored()


def test_a_staff_booking_for_a_caller_is_audited(clock, wang, desk):
    with set_actor(desk):
        booking = book(wang, slot_in(1, phone=2), channel="phone", by=desk)

    actor, action, changes = last_change(booking)
    assert (actor, action) == (desk, LogEntry.Action.CREATE)
    assert changes["channel"] == ["None", "phone"]
    assert_no_personal_data_stored()


# --- sessions, quotas, closures ----------------------------------------------------------


def test_a_session_stop_is_audited_with_the_cancellations(booking_today, desk):
    session = booking_today.session

    services.session_stop(session=session, reason="医生临时停诊", stopped_by=desk)

    entry = entries(session)[-1]
    assert entry.actor == desk
    assert entry.changes_dict == {
        "status": ["open", "stopped"],
        "stop_reason": ["", "医生临时停诊"],
    }
    assert entry.additional_data == {"bookings_cancelled": "1", "waitlist_closed": "0"}
    assert Session.objects.get(pk=session.pk).status == "stopped"


def test_a_capacity_change_through_the_admin_page_is_audited(clock, admin_client, admin_user):
    quota = factories.slot_with_quotas(online=5).quotas.get()

    admin_client.post(
        reverse("admin:clinics_quota_set_capacity", args=[quota.pk]),
        {"capacity": 7, "note": "医生多看两位"},
    )

    entry = entries(quota)[-1]
    assert entry.actor == admin_user
    assert entry.changes_dict == {"capacity": ["5", "7"]}
    assert entry.additional_data == {"reason": "staff_edit", "note": "医生多看两位"}
    assert Quota.objects.get(pk=quota.pk).capacity == 7


def test_a_closure_is_audited(clock, desk):
    with set_actor(desk):
        closure = services.closure_create(
            scope="hospital",
            target=None,
            channels=["online"],
            starts_at=datetime.datetime(2026, 11, 24, 8, 0, tzinfo=SHANGHAI),
            reason="maintenance",
            notice="系统维护",
            notice_en="Maintenance",
            release_places=False,
            created_by=desk,
        )

    actor, action, changes = last_change(Closure.objects.get(pk=closure.pk))
    assert (actor, action) == (desk, LogEntry.Action.CREATE)
    assert changes["online"] == ["None", "True"]
    assert changes["notice"] == ["None", "系统维护"]


# --- patients, accounts, second factors --------------------------------------------------


def test_patient_create_and_update_through_the_admin(admin_client, admin_user):
    account = factories.AccountFactory(username=ACCOUNT_PHONE, phone=ACCOUNT_PHONE)
    admin_client.post(
        reverse("admin:patients_patient_add"),
        {
            "account": account.pk,
            "relationship": "parent",
            "real_name": "王秀英",
            "document_type": "resident_id",
            "document_number": GB_EXAMPLE,
            "phone": PHONE,
        },
    )
    patient = Patient.objects.get()
    admin_client.post(
        reverse("admin:patients_patient_change", args=[patient.pk]),
        {"relationship": "self", "phone": "13811112222", "suspended_until": ""},
    )

    created, updated = entries(patient)
    assert (created.actor, created.action) == (admin_user, LogEntry.Action.CREATE)
    assert "document_number" not in created.changes_dict
    assert created.changes_dict["real_name"] == ["None", "王秀英"]
    assert created.changes_dict["phone"] == ["None", "139****5678"]
    assert created.object_repr == "王秀英 (**************002X)"
    assert (updated.actor, updated.changes_dict) == (
        admin_user,
        {"relationship": ["parent", "self"], "phone": ["139****5678", "138****2222"]},
    )
    assert_no_personal_data_stored()


def test_accounts_store_no_phone_password_or_secret(desk):
    group = Group.objects.create(name="Front desk")
    with set_actor(desk):
        account = Account.objects.create_user(
            username=ACCOUNT_PHONE, phone=ACCOUNT_PHONE, password="s3cret-Passw0rd"
        )
        account.groups.add(group)
        TOTPDevice.objects.create(user=account, name="phone", confirmed=True)

    created, joined = entries(account)
    assert created.actor == desk
    assert created.object_repr == "137****1111"
    assert created.changes_dict["username"] == ["None", "137****1111"]
    assert created.changes_dict["phone"] == ["None", "137****1111"]
    assert "password" not in created.changes_dict
    assert joined.changes_dict == {
        "groups": {"type": "m2m", "operation": "add", "objects": ["Front desk"]}
    }
    device = TOTPDevice.objects.get()
    (enrolled,) = entries(device)
    assert enrolled.actor == desk
    assert set(enrolled.changes_dict) == {"user", "name", "confirmed"}
    assert enrolled.object_repr == "phone (137****1111)"
    assert device.key not in str(enrolled.changes)
    assert_no_personal_data_stored()


# --- the audit log's pages ------------------------------------------------------------------


def test_the_audit_log_pages_mask_what_older_entries_hold(admin_client, wang):
    # an entry written before the masks (auditlog's own keeps half a value)
    entry = LogEntry.objects.log_create(
        wang,
        action=LogEntry.Action.UPDATE,
        changes={"phone": ["", PHONE], "document_number": ["None", "*********91231002X"]},
        object_repr=f"王秀英 {GB_EXAMPLE} {PHONE}",
    )

    listing = admin_client.get(reverse("admin:auditlog_logentry_changelist")).content.decode()
    page = admin_client.get(
        reverse("admin:auditlog_logentry_change", args=[entry.pk])
    ).content.decode()

    for html in (listing, page):
        assert "王秀英" in html
        assert GB_EXAMPLE not in html and PHONE not in html
        assert "139****5678" in html
    assert "**************002X" in page and "91231002X" not in page


def test_the_audit_log_is_read_only(admin_client, wang):
    entry = LogEntry.objects.log_create(
        wang, action=LogEntry.Action.UPDATE, changes={"relationship": ["self", "parent"]}
    )

    deleted = admin_client.post(
        reverse("admin:auditlog_logentry_delete", args=[entry.pk]), {"post": "yes"}
    )

    assert deleted.status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_a_stale_actor_is_not_staff_acting(booking_today, desk, wang):
    # auditlog leaves the last context's data behind: it must not count afterwards
    with set_actor(desk):
        pass

    services.booking_cancel(booking=booking_today, requested_by=wang.account)

    assert entries(booking_today) == []
    assert Booking.objects.get(pk=booking_today.pk).status == "cancelled_by_patient"
