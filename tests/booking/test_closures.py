"""Channel closures: what they refuse, what they leave alone, when they start and end."""

import datetime

import pytest
from django.utils import timezone, translation

from booking import rules
from booking.models import Booking, Closure, Notice
from booking.selectors import booking_list_for_account
from booking.services import closures
from clinics import cache as clinics_cache
from clinics.models import Channel
from core.errors import YuyueError
from tests import factories
from tests.booking.conftest import NOW
from tests.booking.helpers import assert_books_balance, snapshot
from tests.booking.test_create import book, refused, session_in, slot_in

pytestmark = pytest.mark.django_db

NOTICE = "眼科线上预约暂停，请电话预约。"
NOTICE_EN = "Online booking for this clinic is paused. Please book by phone."


def close(
    *,
    scope=Closure.Scope.DEPARTMENT,
    target=None,
    channels=(Channel.ONLINE,),
    starts_at=None,
    ends_at=None,
    reason=Closure.Reason.CAPACITY,
    release_places=False,
    by=None,
    notice=NOTICE,
    notice_en=NOTICE_EN,
) -> Closure:
    return closures.closure_create(
        scope=scope,
        target=target,
        channels=list(channels),
        starts_at=starts_at or NOW,
        ends_at=ends_at,
        reason=reason,
        notice=notice,
        notice_en=notice_en,
        release_places=release_places,
        created_by=by,
    )


@pytest.fixture
def no_release_engine(monkeypatch):
    """Closures with release_places publish to the release engine; count, don't run."""
    published: list[int] = []

    def publish(name, *args):
        assert name == "booking.tasks.release_closure_task"
        published.append(*args)

    monkeypatch.setattr(closures, "task_publish", publish)
    return published


# --- what a closure refuses, and what it leaves alone ------------------------------


def test_closing_online_for_one_department_refuses_online_there_only(clock, staff, patient):
    # given two clinics, each with a session tomorrow and one today
    cataract = factories.DepartmentFactory(name="白内障专科", name_en="Cataract clinic")
    glaucoma = factories.DepartmentFactory(name="青光眼专科", name_en="Glaucoma clinic")
    closed_slot = slot_in(1, department=cataract, online=3, phone=2)
    today_slot = slot_in(0, department=cataract, hour=14, online=3, walkin=2)
    other_slot = slot_in(1, department=glaucoma, online=3)

    # when ops close online booking for the cataract clinic until 18:00 today
    close(target=cataract, ends_at=NOW.replace(hour=18), by=staff)

    # then online booking there is refused with the notice, and nothing changes
    error = refused("channel_closed", lambda: book(patient, closed_slot))
    assert NOTICE_EN in error.detail
    assert "Please try again after 2026-11-23 18:00" in error.detail
    assert error.http_status == 409

    # and phone and walk-in still book there, and online still books elsewhere
    by_phone = book(patient, closed_slot, channel=Channel.PHONE, by=staff)
    walk_in = book(factories.PatientFactory(), today_slot, channel=Channel.WALKIN, by=staff)
    online_elsewhere = book(factories.PatientFactory(), other_slot)
    assert [b.status for b in (by_phone, walk_in, online_elsewhere)] == [
        Booking.Status.CONFIRMED
    ] * 3
    assert_books_balance()


def test_the_refusal_speaks_the_current_language(clock, patient):
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department)
    close(target=department)

    with pytest.raises(YuyueError) as info:
        book(patient, slot)

    assert NOTICE_EN in info.value.detail
    with translation.override("zh-hans"):
        assert NOTICE in info.value.detail
        assert NOTICE_EN not in info.value.detail


def test_open_ended_closure_gives_no_retry_time(clock, patient):
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department)
    close(target=department, ends_at=None)

    error = refused("channel_closed", lambda: book(patient, slot))

    assert error.detail == f"Booking through this channel is closed for now. {NOTICE_EN}"


def test_existing_bookings_stay_valid_and_visible(clock, patient):
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department)
    booking = book(patient, slot)

    close(target=department, channels=[Channel.ONLINE, Channel.PHONE, Channel.WALKIN])

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    assert list(booking_list_for_account(account=patient.account)) == [booking]
    assert slot.quotas.get(channel=Channel.ONLINE).booked == 1


def test_parent_department_closure_covers_its_sub_clinics(clock, patient):
    ophthalmology = factories.DepartmentFactory(code="ophthalmology")
    cataract = factories.DepartmentFactory(code="cataract", parent=ophthalmology)
    sub_clinic_slot = slot_in(1, department=cataract)
    parent_slot = slot_in(2, department=ophthalmology)

    close(target=ophthalmology)

    refused("channel_closed", lambda: book(patient, sub_clinic_slot))
    refused("channel_closed", lambda: book(patient, parent_slot))


def test_sub_clinic_closure_leaves_its_parent_open(clock, patient):
    ophthalmology = factories.DepartmentFactory(code="ophthalmology")
    cataract = factories.DepartmentFactory(code="cataract", parent=ophthalmology)
    parent_slot = slot_in(1, department=ophthalmology)

    close(target=cataract)

    assert book(patient, parent_slot).status == Booking.Status.CONFIRMED


def test_doctor_closure_covers_only_that_doctors_sessions(clock, patient):
    department = factories.DepartmentFactory()
    closed_doctor = factories.DoctorFactory(department=department)
    slot = factories.slot_with_quotas(session=session_in(1, doctor=closed_doctor), online=3)
    colleague_slot = slot_in(1, department=department)

    close(
        scope=Closure.Scope.DOCTOR, target=closed_doctor, reason=Closure.Reason.DOCTOR_UNAVAILABLE
    )

    refused("channel_closed", lambda: book(patient, slot))
    assert book(patient, colleague_slot).status == Booking.Status.CONFIRMED


def test_session_closure_covers_only_that_session(clock, patient):
    slot = slot_in(1)
    later_session_slot = factories.slot_with_quotas(
        session=session_in(2, doctor=slot.session.doctor), online=3
    )

    close(scope=Closure.Scope.SESSION, target=slot.session)

    refused("channel_closed", lambda: book(patient, slot))
    assert book(patient, later_session_slot).status == Booking.Status.CONFIRMED


def test_a_closure_of_phone_leaves_online_open(clock, staff, patient):
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department, online=3, phone=3)
    close(target=department, channels=[Channel.PHONE])

    refused("channel_closed", lambda: book(patient, slot, channel=Channel.PHONE, by=staff))
    assert book(patient, slot).channel == Channel.ONLINE


def test_reserved_follow_ups_are_never_closed(clock, staff, patient):
    slot = slot_in(1, reserved=1)
    close(scope=Closure.Scope.HOSPITAL, channels=[Channel.ONLINE, Channel.PHONE, Channel.WALKIN])

    assert book(patient, slot, channel=Channel.RESERVED, by=staff).status == "confirmed"


def test_ensure_channel_open_is_one_query(clock, django_assert_num_queries):
    department = factories.DepartmentFactory()
    session = session_in(1, department=department)
    session.department  # noqa: B018 - loaded, as booking_create loads it
    close(target=department, channels=[Channel.PHONE])
    close(scope=Closure.Scope.HOSPITAL, channels=[Channel.WALKIN])

    with django_assert_num_queries(1):
        rules.check_channel_open(session=session, channel=Channel.ONLINE, now=NOW)
    with django_assert_num_queries(1), pytest.raises(YuyueError):
        rules.check_channel_open(session=session, channel=Channel.PHONE, now=NOW)


def test_of_two_closures_the_longest_decides_the_retry_time(clock, patient):
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department)
    close(target=department, ends_at=NOW.replace(hour=12))
    close(
        scope=Closure.Scope.HOSPITAL,
        ends_at=NOW.replace(hour=20),
        reason=Closure.Reason.MAINTENANCE,
        notice="系统维护",
        notice_en="System maintenance.",
    )

    error = refused("channel_closed", lambda: book(patient, slot))

    assert "System maintenance." in error.detail
    assert "2026-11-23 20:00" in error.detail


# --- time: scheduled closures start and end on time; reopen ends them early ----------


def test_scheduled_closure_starts_and_ends_on_time(clock, patient):
    department = factories.DepartmentFactory()
    slot = slot_in(3, department=department)
    starts = NOW.replace(hour=22)
    ends = starts + datetime.timedelta(hours=4)
    close(target=department, starts_at=starts, ends_at=ends)

    clock.move_to(starts - datetime.timedelta(seconds=1))
    rules.check_channel_open(session=slot.session, channel=Channel.ONLINE, now=timezone.now())

    clock.move_to(starts)
    refused("channel_closed", lambda: book(patient, slot))

    clock.move_to(ends - datetime.timedelta(seconds=1))
    refused("channel_closed", lambda: book(patient, slot))

    clock.move_to(ends)
    assert book(patient, slot).status == Booking.Status.CONFIRMED


def test_reopen_ends_a_closure_at_once(clock, staff, patient):
    department = factories.DepartmentFactory()
    slot = slot_in(1, department=department)
    closure = close(target=department, ends_at=NOW + datetime.timedelta(days=2))
    refused("channel_closed", lambda: book(patient, slot))

    reopened = closures.closure_reopen(closure=closure, reopened_by=staff)

    assert reopened.reopened_at == NOW
    assert reopened.reopened_by == staff
    assert book(patient, slot).status == Booking.Status.CONFIRMED


def test_reopening_twice_returns_the_closure_as_it_is(clock, staff):
    closure = close(target=factories.DepartmentFactory())
    first = closures.closure_reopen(closure=closure, reopened_by=staff)
    clock.move_to(NOW + datetime.timedelta(hours=1))

    again = closures.closure_reopen(closure=closure, reopened_by=None)

    assert again.reopened_at == first.reopened_at == NOW
    assert again.reopened_by == staff


def test_reopen_after_the_end_is_refused(clock, staff):
    closure = close(target=factories.DepartmentFactory(), ends_at=NOW + datetime.timedelta(hours=1))
    clock.move_to(NOW + datetime.timedelta(hours=2))

    with pytest.raises(YuyueError) as info:
        closures.closure_reopen(closure=closure, reopened_by=staff)

    assert info.value.code == "closure_already_ended"
    closure.refresh_from_db()
    assert closure.reopened_at is None


def test_a_planned_closure_reopened_before_it_starts_never_applies(clock, staff, patient):
    department = factories.DepartmentFactory()
    slot = slot_in(3, department=department)
    closure = close(target=department, starts_at=NOW + datetime.timedelta(days=1))
    closures.closure_reopen(closure=closure, reopened_by=staff)

    clock.move_to(NOW + datetime.timedelta(days=1, hours=1))

    assert book(patient, slot).status == Booking.Status.CONFIRMED


# --- closure_create: what it refuses, and the release it asks for --------------------


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"channels": []}, "closure_no_channel"),
        ({"channels": [Channel.RESERVED]}, "closure_unknown_channel"),
        ({"scope": Closure.Scope.HOSPITAL, "target": "department"}, "closure_target_mismatch"),
        ({"scope": Closure.Scope.DEPARTMENT, "target": None}, "closure_target_mismatch"),
        ({"scope": Closure.Scope.DOCTOR, "target": "department"}, "closure_target_mismatch"),
        ({"scope": "ward", "target": None}, "closure_target_mismatch"),
        ({"ends_at": NOW}, "closure_ends_before_start"),
        ({"starts_at": NOW - datetime.timedelta(days=2), "ends_at": NOW}, "closure_already_over"),
        ({"reason": "boredom"}, "closure_unknown_reason"),
        ({"notice": "  "}, "closure_notice_missing"),
        ({"notice_en": ""}, "closure_notice_missing"),
    ],
)
def test_closure_create_refusals_write_nothing(clock, staff, kwargs, code):
    department = factories.DepartmentFactory()
    if kwargs.get("target") == "department":
        kwargs["target"] = department
    kwargs.setdefault("target", department)

    with pytest.raises(YuyueError) as info:
        close(by=staff, **kwargs)

    assert info.value.code == code
    assert info.value.detail
    assert not Closure.objects.exists()


def test_release_places_asks_the_release_engine_after_commit(
    clock, staff, no_release_engine, django_capture_on_commit_callbacks
):
    department = factories.DepartmentFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        closure = close(target=department, release_places=True, by=staff)
        assert no_release_engine == []  # nothing before the commit

    assert len(callbacks) == 1
    assert no_release_engine == [closure.pk]
    assert closure.release_places is True


def test_without_release_nothing_is_published(
    clock, staff, no_release_engine, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        close(target=factories.DepartmentFactory(), release_places=False, by=staff)

    # Only the availability generation's bump (clinics.cache): no task is published.
    assert [c for c in callbacks if c is not clinics_cache._bump] == []
    assert no_release_engine == []


def test_closure_create_stores_what_ops_asked(clock, staff):
    doctor = factories.DoctorFactory()

    closure = close(
        scope=Closure.Scope.DOCTOR,
        target=doctor,
        channels=[Channel.PHONE, Channel.ONLINE],
        ends_at=NOW + datetime.timedelta(days=1),
        notice="  " + NOTICE + "\n",
        by=staff,
    )

    closure.refresh_from_db()
    assert (closure.scope, closure.doctor, closure.department, closure.session) == (
        "doctor",
        doctor,
        None,
        None,
    )
    assert closure.channels() == ["online", "phone"]
    assert (closure.starts_at, closure.ends_at) == (NOW, NOW + datetime.timedelta(days=1))
    assert closure.notice == NOTICE
    assert closure.created_by == staff


# --- planned maintenance: reads work, online writes refused, the rest books ----------


@pytest.fixture
def maintenance(clock, staff):
    """Hospital-wide online maintenance tonight 22:00 until 02:00, announced at 09:00."""
    return close(
        scope=Closure.Scope.HOSPITAL,
        starts_at=NOW.replace(hour=22),
        ends_at=NOW.replace(hour=22) + datetime.timedelta(hours=4),
        reason=Closure.Reason.MAINTENANCE,
        notice="系统升级维护，线上预约暂停。",
        notice_en="System upgrade: online booking is paused.",
        by=staff,
    )


def test_maintenance_is_announced_on_the_status_page_before_it_starts(maintenance, client):
    response = client.get("/status", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    planned = response.context["planned_closures"]
    assert [c["id"] for c in planned] == [maintenance.pk]
    assert response.context["current_closures"] == []
    assert "System upgrade: online booking is paused." in response.content.decode()


def test_during_maintenance_reads_work_and_online_writes_are_refused(
    maintenance, clock, client, admin_client, staff, patient
):
    slot = slot_in(2, online=3, phone=2)
    clock.move_to(NOW.replace(hour=23))
    walkin_slot = factories.slot_with_quotas(
        session=session_in(1, hour=8), walkin=2
    )  # tomorrow morning: walk-in is for today's sessions, so book it after midnight
    before = snapshot()

    # reads keep working, and show the notice instead of failing
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert home.status_code == 200
    assert "System upgrade: online booking is paused." in home.content.decode()
    assert client.get("/status").status_code == 200
    assert client.get("/api/v1/status").status_code == 200

    # online writes are refused with the notice and when to try again
    error = refused("channel_closed", lambda: book(patient, slot))
    assert "System upgrade: online booking is paused." in error.detail
    assert "Please try again after 2026-11-24 02:00" in error.detail
    assert snapshot() == before

    # the admin keeps working
    for url in (
        "/admin/",
        "/admin/booking/booking/",
        "/admin/booking/closure/",
        f"/admin/booking/closure/{maintenance.pk}/change/",
        "/admin/booking/closure/add/",
        "/admin/booking/notice/",
    ):
        assert admin_client.get(url).status_code == 200, url

    # phone and walk-in still book
    assert book(patient, slot, channel=Channel.PHONE, by=staff).channel == Channel.PHONE
    clock.move_to(NOW.replace(hour=23) + datetime.timedelta(hours=2, minutes=30))  # 01:30
    walk_in = book(factories.PatientFactory(), walkin_slot, channel=Channel.WALKIN, by=staff)
    assert walk_in.status == Booking.Status.CONFIRMED

    # and at 02:00 online books again
    clock.move_to(NOW.replace(hour=22) + datetime.timedelta(hours=4))
    assert book(factories.PatientFactory(), slot).channel == Channel.ONLINE
    assert_books_balance()


# --- admin: ops close through the add form, reopen with the action ------------------


def test_admin_add_form_closes_through_the_service(
    clock, admin_client, admin_user, no_release_engine
):
    department = factories.DepartmentFactory()

    response = admin_client.post(
        "/admin/booking/closure/add/",
        {
            "scope": "department",
            "department": department.pk,
            "online": "on",
            "starts_at_0": "2026-11-23",
            "starts_at_1": "09:00:00",
            "ends_at_0": "2026-11-23",
            "ends_at_1": "18:00:00",
            "reason": "capacity",
            "notice": NOTICE,
            "notice_en": NOTICE_EN,
            "release_places": "on",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    closure = Closure.objects.get()
    assert (closure.scope, closure.department, closure.channels()) == (
        "department",
        department,
        ["online"],
    )
    assert closure.created_by == admin_user
    assert closure.ends_at == NOW.replace(hour=18)
    assert closure.release_places is True


def test_admin_add_form_shows_the_refusal_next_to_the_field(clock, admin_client):
    response = admin_client.post(
        "/admin/booking/closure/add/",
        {
            "scope": "department",
            "starts_at_0": "2026-11-23",
            "starts_at_1": "09:00:00",
            "reason": "capacity",
            "notice": NOTICE,
            "notice_en": NOTICE_EN,
            "online": "on",
        },
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {
        "department": [
            "A closure for “Department” must name exactly one target of that kind "
            "(none for the whole hospital)."
        ]
    }
    assert not Closure.objects.exists()


def test_admin_reopen_action(clock, admin_client):
    closure = close(target=factories.DepartmentFactory())

    response = admin_client.post(
        "/admin/booking/closure/",
        {"action": "reopen_now", "_selected_action": [closure.pk]},
    )

    assert response.status_code == 302
    closure.refresh_from_db()
    assert closure.reopened_at == NOW


def test_admin_list_links_the_printable_sign(clock, admin_client):
    closure = close(target=factories.DepartmentFactory())

    response = admin_client.get("/admin/booking/closure/")

    assert f'href="/signs/closure/{closure.pk}"' in response.content.decode()


def test_admin_posts_a_notice_through_the_service(clock, admin_client, admin_user):
    response = admin_client.post(
        "/admin/booking/notice/add/",
        {
            "title": "春节门诊安排",
            "title_en": "Spring Festival opening hours",
            "body": "除夕至初三仅开放急诊。",
            "body_en": "Only the emergency department is open from New Year's Eve to the 3rd day.",
            "severity": "warning",
            "starts_at_0": "2026-11-23",
            "starts_at_1": "09:00:00",
        },
    )

    assert response.status_code == 302
    notice = Notice.objects.get()
    assert notice.created_by == admin_user
    assert notice.severity == "warning"


def test_notice_services_refuse_missing_text_and_backwards_times(clock, staff):
    with pytest.raises(YuyueError) as info:
        closures.notice_create(
            title="", title_en="t", body="b", body_en="b", starts_at=NOW, created_by=staff
        )
    assert info.value.code == "notice_text_missing"

    notice = closures.notice_create(
        title="t", title_en="t", body="b", body_en="b", starts_at=NOW, created_by=staff
    )
    with pytest.raises(YuyueError) as info:
        closures.notice_update(notice=notice, ends_at=NOW)
    assert info.value.code == "notice_ends_before_start"

    closures.notice_update(notice=Notice.objects.get(), ends_at=NOW + datetime.timedelta(hours=1))
    assert Notice.objects.get().ends_at == NOW + datetime.timedelta(hours=1)
