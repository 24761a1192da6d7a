"""The clinic pages (browse by department, moved there from the old long home page) say
what a patient can do now with each session, in words, from the booking rules: places,
full, ended, stopped, online paused (with the phone number and the walk-in hours), or
when the day opens."""

import datetime
import re

import pytest
from django.urls import reverse

from booking import rules
from booking.exceptions import NotYetReleased, OutsideWindow
from booking.models import BookingPolicy, Closure
from booking.selectors import availability, policies_by_department, policy_for_department
from booking.services.closures import closure_create, closure_reopen
from clinics.models import Channel, Department, Quota, Session
from tests.booking.conftest import NOW, SHANGHAI
from tests.factories import (
    BookingPolicyFactory,
    DepartmentFactory,
    DoctorFactory,
    SessionFactory,
    StaffFactory,
    slot_with_quotas,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TODAY = NOW.date()  # Monday 23 November 2026; NOW is 09:00, after the 07:00 release
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
SECOND = datetime.timedelta(seconds=1)
HALF_HOUR = HOUR / 2
# Places per slot: 3 online, 1 phone, 2 walk-in.
DEFAULT = {"online": 3, "phone": 1, "walkin": 2}

CARD = re.compile(r'<li class="card session[^"]*"[^>]*data-session="(\d+)">(.*?)</li>', re.S)
PLACES = re.compile(r'<dd data-channel="(\w+)" data-state="(\w+)">(.*?)</dd>', re.S)


def department_page(client, code: str, language: str = "en") -> str:
    response = client.get(reverse("browse-department", args=[code]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def page(client, language: str = "en") -> str:
    """Every clinic's page, one after another: each session is on its clinic's page."""
    codes = Department.objects.filter(is_active=True).values_list("code", flat=True)
    return "\n".join(department_page(client, code, language) for code in codes)


def cards(html: str) -> dict[int, str]:
    """session id -> the markup of its card, in page order."""
    return {int(pk): card for pk, card in CARD.findall(html)}


def card(client, session: Session, language: str = "en") -> str:
    return cards(page(client, language))[session.pk]


def words(card_html: str) -> dict[str, tuple[str, str]]:
    """channel -> (state, the words shown), whitespace collapsed."""
    return {
        channel: (state, " ".join(text.split()))
        for channel, state, text in PLACES.findall(card_html)
    }


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


def session_with_places(
    day: datetime.date, *, hour: int = 8, slots: int = 2, department=None, **places: int
) -> Session:
    """A session on `day` from `hour`, with `slots` 30-minute slots of `places` each."""
    start = at(day, hour)
    doctor = DoctorFactory(department=department) if department else DoctorFactory()
    session = SessionFactory(
        doctor=doctor, date=day, starts_at=start, ends_at=start + slots * HALF_HOUR
    )
    for index in range(slots):
        slot_with_quotas(session=session, starts_at=start + index * HALF_HOUR, **places)
    return session


def session_with_places_in(department, day: datetime.date) -> Session:
    """A session of `department` on `day`, 08:00-09:00, two slots of DEFAULT places."""
    return session_with_places(day, department=department, **DEFAULT)


def close(*, target=None, scope=Closure.Scope.DEPARTMENT, channels=(Channel.ONLINE,), **kwargs):
    return closure_create(
        **{
            "scope": scope,
            "target": target,
            "channels": list(channels),
            "starts_at": NOW - HOUR,
            "ends_at": None,
            "reason": Closure.Reason.CAPACITY,
            "notice": "线上预约暂停。",
            "notice_en": "Online booking is paused.",
            "release_places": False,
            "created_by": StaffFactory(),
            **kwargs,
        }
    )


# --- each state, in both languages -----------------------------------------------


@pytest.mark.parametrize(
    ("language", "label"), [("en", "6 places"), ("zh-hans", "有号 6")], ids=["en", "zh"]
)
def test_a_session_with_places_shows_how_many_per_channel(client, language, label):
    session = session_with_places(TODAY + 2 * DAY, **DEFAULT)

    shown = words(card(client, session, language))

    assert shown["online"] == ("open", label)
    assert shown["phone"][0] == shown["walkin"][0] == "open"
    assert shown["walkin"][1] == ("4 places" if language == "en" else "有号 4")


def test_one_place_is_singular_in_english(client):
    session = session_with_places(TODAY + DAY, slots=1, online=1, phone=1, walkin=1)

    assert words(card(client, session))["online"] == ("open", "1 place")


@pytest.mark.parametrize(("language", "label"), [("en", "Ended"), ("zh-hans", "已结束")])
def test_a_session_that_ended_earlier_today_shows_ended_not_places(client, language, label):
    # given a morning session 07:00-08:00 with unbooked places; it is 09:00
    ended = session_with_places(TODAY, hour=7, **DEFAULT)

    shown = card(client, ended, language)

    assert f'<p class="status status--ended"><strong>{label}</strong></p>' in shown
    assert "data-channel" not in shown


def test_a_session_whose_every_slot_has_started_is_ended_for_booking(client):
    # given 08:00-09:30, the last slot started at 09:00 (now)
    running = session_with_places(TODAY, hour=8, slots=3, **DEFAULT)

    assert "status--ended" in card(client, running)


def test_a_session_under_way_counts_only_the_slots_still_to_come(client):
    # given 08:00-10:00 at 09:00: a slot starting now has started; only 09:30 is to come
    running = session_with_places(TODAY, hour=8, slots=4, **DEFAULT)

    assert words(card(client, running))["online"] == ("open", "3 places")


@pytest.mark.parametrize(("language", "label"), [("en", "Full"), ("zh-hans", "约满")])
def test_a_full_session_shows_full(client, language, label):
    # given every online place booked, or held back for the waitlist
    session = session_with_places(TODAY + DAY, **DEFAULT)
    first, second = session.slots.order_by("starts_at")
    Quota.objects.filter(slot=first, channel=Channel.ONLINE).update(booked=3)
    Quota.objects.filter(slot=second, channel=Channel.ONLINE).update(booked=2, held=1)

    shown = words(card(client, session, language))

    assert shown["online"] == ("full", label)
    assert shown["phone"][0] == "open"


@pytest.mark.parametrize(("language", "label"), [("en", "Stopped"), ("zh-hans", "停诊")])
def test_a_stopped_session_shows_stopped_and_no_places(client, language, label):
    session = session_with_places(TODAY + DAY, **DEFAULT)
    Session.objects.filter(pk=session.pk).update(
        status=Session.Status.STOPPED, stop_reason="医生外出会诊"
    )

    shown = card(client, session, language)

    assert f"<strong>{label}</strong> · 医生外出会诊</p>" in shown
    assert "data-channel" not in shown


@pytest.mark.parametrize(
    ("language", "label", "phone_words", "walkin_words"),
    [
        ("en", "Online booking paused", "Book by phone:", "Or register on the day at the"),
        ("zh-hans", "线上暂停", "电话预约：", "或当天到现场挂号窗口挂号："),
    ],
)
def test_an_online_closure_in_force_shows_paused_with_phone_and_walkin_hours(
    client, settings, language, label, phone_words, walkin_words
):
    # given the clinic's online booking closed an hour ago, until further notice
    settings.YUYUE_WALKIN_HOURS = "07:30–11:30, 13:30–16:30"
    department = DepartmentFactory(phone="010-6512-3456")
    session = session_with_places_in(department, TODAY + DAY)
    close(target=department)

    shown = card(client, session, language)

    # then online says paused, with no count; phone and walk-in still take places
    assert words(shown) == {
        "online": ("paused", label),
        "phone": ("open", "2 places" if language == "en" else "有号 2"),
        "walkin": ("open", "4 places" if language == "en" else "有号 4"),
    }
    assert f'{phone_words} <a href="tel:010-6512-3456">010-6512-3456</a>' in shown
    assert walkin_words in shown
    assert "07:30–11:30, 13:30–16:30" in shown


def test_a_sub_clinic_without_a_phone_shows_its_parents_then_the_hospitals(client, settings):
    settings.YUYUE_HOSPITAL_PHONE = "010-0000-1111"
    parent = DepartmentFactory(phone="010-2222-3333")
    cataract = session_with_places_in(DepartmentFactory(parent=parent), TODAY + DAY)
    lonely = session_with_places_in(DepartmentFactory(), TODAY + DAY)
    close(scope=Closure.Scope.HOSPITAL)

    shown = cards(page(client))

    assert 'href="tel:010-2222-3333"' in shown[cataract.pk]
    assert 'href="tel:010-0000-1111"' in shown[lonely.pk]


def test_when_phone_and_walkin_are_closed_too_the_page_does_not_send_patients_there(client):
    department = DepartmentFactory(phone="010-6512-3456")
    session = session_with_places_in(department, TODAY + DAY)
    close(target=department, channels=[Channel.ONLINE, Channel.PHONE, Channel.WALKIN])

    shown = card(client, session)

    assert words(shown) == {
        "online": ("paused", "Online booking paused"),
        "phone": ("paused", "Paused"),
        "walkin": ("paused", "Paused"),
    }
    assert "tel:" not in shown
    assert "walk-in windows" not in shown


@pytest.mark.parametrize(
    "closing",
    [
        pytest.param(lambda s: close(scope=Closure.Scope.HOSPITAL), id="hospital"),
        pytest.param(lambda s: close(target=s.department.parent), id="parent-department"),
        pytest.param(lambda s: close(scope=Closure.Scope.DOCTOR, target=s.doctor), id="doctor"),
        pytest.param(lambda s: close(scope=Closure.Scope.SESSION, target=s), id="session"),
    ],
)
def test_every_scope_that_covers_the_session_pauses_it(client, closing):
    session = session_with_places_in(DepartmentFactory(parent=DepartmentFactory()), TODAY + DAY)
    other = session_with_places_in(DepartmentFactory(), TODAY + DAY)
    closing(session)

    shown = cards(page(client))

    assert words(shown[session.pk])["online"][0] == "paused"
    if Closure.objects.get().scope != Closure.Scope.HOSPITAL:
        assert words(shown[other.pk])["online"][0] == "open"


def test_closures_not_in_force_leave_the_places_bookable(client):
    department = DepartmentFactory()
    session = session_with_places_in(department, TODAY + DAY)
    close(target=department, starts_at=NOW + HOUR)  # planned
    reopened = close(target=department)
    closure_reopen(closure=reopened, reopened_by=StaffFactory())
    close(target=department, channels=[Channel.PHONE])  # another channel

    shown = words(card(client, session))

    assert shown["online"] == ("open", "6 places")
    assert shown["phone"] == ("paused", "Paused")


# --- the booking window and the daily release ------------------------------------


@pytest.mark.parametrize(
    ("language", "today_label", "tomorrow_label"),
    [
        ("en", "Opens today 07:00", "Opens tomorrow 07:00"),
        ("zh-hans", "今日 07:00 放号", "明日 07:00 放号"),
    ],
)
def test_before_the_release_time_the_newest_day_says_when_it_opens(
    client, clock, language, today_label, tomorrow_label
):
    # given 06:30: the newest day of the 7-day window (Mon 30) opens at 07:00 today,
    # and Tue 1 December, already made by hand, opens at 07:00 tomorrow
    clock.move_to(at(TODAY, 6, 30))
    newest = session_with_places(TODAY + 7 * DAY, **DEFAULT)
    next_day = session_with_places(TODAY + 8 * DAY, **DEFAULT)
    too_far = session_with_places(TODAY + 9 * DAY, **DEFAULT)
    open_now = session_with_places(TODAY + 6 * DAY, **DEFAULT)

    shown = cards(page(client, language))

    assert words(shown[newest.pk])["online"] == ("not_released", today_label)
    assert words(shown[newest.pk])["phone"] == ("not_released", today_label)
    assert words(shown[next_day.pk])["online"] == ("not_released", tomorrow_label)
    assert words(shown[open_now.pk])["online"][0] == "open"
    assert too_far.pk not in shown
    # walk-in places are for the window on the day: no release time applies
    assert words(shown[newest.pk])["walkin"][0] == "open"


def test_at_the_release_time_the_newest_day_opens(client, clock):
    clock.move_to(at(TODAY, 7, 0))
    newest = session_with_places(TODAY + 7 * DAY, **DEFAULT)

    assert words(card(client, newest))["online"] == ("open", "6 places")


def test_the_release_time_and_window_come_from_the_departments_policy(client):
    # given a clinic that releases at 15:00 and books 14 days ahead; it is 09:00
    department = DepartmentFactory()
    BookingPolicyFactory(department=department, window_days=14, release_time=datetime.time(15, 0))
    newest = session_with_places_in(department, TODAY + 14 * DAY)
    inside = session_with_places_in(department, TODAY + 10 * DAY)

    shown = cards(page(client))

    assert words(shown[newest.pk])["online"] == ("not_released", "Opens today 15:00")
    assert words(shown[inside.pk])["online"][0] == "open"


def test_each_department_lists_its_own_booking_window(client):
    # given a 14-day clinic, its sub-clinic (inherits 14), and a default 7-day clinic
    long = DepartmentFactory()
    BookingPolicyFactory(department=long, window_days=14)
    sub = DepartmentFactory(parent=long)
    short = DepartmentFactory()
    listed = {
        (name, offset): session_with_places_in(department, TODAY + offset * DAY)
        for name, department in (("long", long), ("sub", sub), ("short", short))
        for offset in (0, 7, 8, 9, 14, 15, 16)
    }

    shown = cards(page(client))

    assert {key for key, session in listed.items() if session.pk in shown} == {
        ("long", 0), ("long", 7), ("long", 8), ("long", 9), ("long", 14), ("long", 15),
        ("sub", 0), ("sub", 7), ("sub", 8), ("sub", 9), ("sub", 14), ("sub", 15),
        ("short", 0), ("short", 7), ("short", 8),
    }  # fmt: skip
    assert words(shown[listed[("long", 15)].pk])["online"] == (
        "not_released",
        "Opens tomorrow 07:00",
    )


def test_a_clinic_without_sessions_says_so(client):
    department = DepartmentFactory()
    DoctorFactory(department=department)

    html = department_page(client, department.code)

    assert "No clinic sessions in the booking window." in html
    assert "No clinic sessions are scheduled in the booking window." in html


# --- cheap at 07:00 ----------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 12])
def test_a_clinic_page_runs_nine_queries_whatever_the_number_of_sessions(
    client, count, django_assert_num_queries
):
    # given sessions in a clinic and its sub-clinic with policies, and closures in force
    parent = DepartmentFactory()
    departments = [parent, DepartmentFactory(parent=parent)]
    BookingPolicyFactory(department=departments[0], window_days=14)
    for index in range(count):
        session_with_places_in(departments[index % 2], TODAY + (index % 7) * DAY)
    close(target=departments[1])
    close(scope=Closure.Scope.DOCTOR, target=DoctorFactory(department=departments[0]))

    # when / then: the clinic and its sub-clinics, doctors; policies, sessions, quotas,
    # closures in force; the banner's notices and closures
    with django_assert_num_queries(9):
        html = department_page(client, parent.code)

    assert len(cards(html)) == count


# --- the rules the page reads agree with the rules bookings are judged by ---------


@pytest.mark.parametrize("window_days", [0, 7, 14])
@pytest.mark.parametrize("release", [datetime.time(0, 0), datetime.time(7, 0)])
def test_opens_at_is_the_first_moment_check_window_lets_a_booking_through(window_days, release):
    policy = BookingPolicy(window_days=window_days, release_time=release)
    session = Session(date=TODAY + 10 * DAY)

    moment = availability.opens_at(policy=policy, day=session.date)

    assert moment == at(TODAY + (10 - window_days) * DAY, release.hour)
    rules.check_window(session=session, policy=policy, now=moment)
    with pytest.raises((NotYetReleased, OutsideWindow)):
        rules.check_window(session=session, policy=policy, now=moment - SECOND)


def test_closure_covers_agrees_with_the_closure_queryset():
    parent = DepartmentFactory()
    sessions = [
        session_with_places_in(DepartmentFactory(parent=parent), TODAY + DAY),
        session_with_places_in(parent, TODAY + DAY),
        session_with_places_in(DepartmentFactory(), TODAY + 2 * DAY),
    ]
    close(scope=Closure.Scope.HOSPITAL, channels=[Channel.WALKIN])
    close(target=parent)
    close(target=sessions[0].department)
    close(scope=Closure.Scope.DOCTOR, target=sessions[2].doctor)
    close(scope=Closure.Scope.SESSION, target=sessions[1])
    closures = list(Closure.objects.all())

    for session in Session.objects.select_related("department"):
        in_memory = {c.pk for c in closures if c.covers(session)}
        in_database = set(Closure.objects.covering(session).values_list("pk", flat=True))
        assert in_memory == in_database


def test_policies_by_department_agrees_with_policy_for_department(django_assert_num_queries):
    # given own, inherited (two levels up) and default policies
    top = DepartmentFactory()
    own = BookingPolicyFactory(department=top, window_days=14)
    middle = DepartmentFactory(parent=top)
    leaf = DepartmentFactory(parent=middle)
    elsewhere = DepartmentFactory()
    overridden = DepartmentFactory(parent=top)
    BookingPolicyFactory(department=overridden, window_days=3)

    with django_assert_num_queries(1):
        policies = policies_by_department()

    for department in (top, middle, leaf, elsewhere, overridden):
        expected = policy_for_department(department)
        assert policies[department.pk].pk == expected.pk
        assert policies[department.pk].window_days == expected.window_days
    assert policies[leaf.pk] == own
    assert policies[elsewhere.pk].pk is None
    assert policies[elsewhere.pk].window_days == 7
