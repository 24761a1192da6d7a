import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from clinics.models import Department, Doctor, HalfDay, Quota, Session
from tests.factories import (
    SHANGHAI,
    DepartmentFactory,
    DoctorFactory,
    SessionFactory,
    slot_with_quotas,
)

pytestmark = pytest.mark.django_db

# Monday 23 November 2026, 09:00 in Shanghai.
NOW = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _get(client, url: str, language: str = "en") -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def _page(client, language: str = "en") -> str:
    """Every clinic's page, one after another (the sessions moved off the start page)."""
    codes = Department.objects.filter(is_active=True).values_list("code", flat=True)
    return "\n".join(
        _get(client, reverse("browse-department", args=[code]), language) for code in codes
    )


SESSION_CARD = re.compile(
    r'<li class="card session[^"]*" (data-status="\w+") data-session="(\d+)">(.*?)</li>', re.S
)


def _card(html: str, session: Session) -> str:
    """The markup of one session's card."""
    [card] = {
        status + card for status, pk, card in SESSION_CARD.findall(html) if int(pk) == session.pk
    }
    return card


def _sessions(html: str) -> set[int]:
    """The sessions with a card."""
    return {int(pk) for _status, pk, _card in SESSION_CARD.findall(html)}


def test_start_page_shows_the_hospital_the_red_flags_and_the_phone(client, settings):
    settings.YUYUE_HOSPITAL_NAME_EN = "Demo Hospital Eye Centre"
    settings.YUYUE_HOSPITAL_PHONE = "010-6512-3456"

    html = _get(client, reverse("home"))

    assert '<html lang="en" class="text-normal">' in html
    assert 'href="/">Demo Hospital Eye Centre</a>' in html
    assert "Go to the emergency department now" in html
    assert "sudden loss of vision" in html
    assert '<a href="tel:010-6512-3456">010-6512-3456</a>' in html


def test_a_clinic_page_shows_the_hospital_and_a_doctor(client, settings):
    # given
    settings.YUYUE_HOSPITAL_NAME = "示范医院眼科中心"
    settings.YUYUE_HOSPITAL_NAME_EN = "Demo Hospital Eye Centre"
    settings.YUYUE_HOSPITAL_PHONE = "010-6512-3456"
    doctor = DoctorFactory(
        name="王建国",
        name_en="Wang Jianguo",
        title=Doctor.Title.ASSOCIATE_CHIEF,
        fee="50.00",
        specialties="白内障, 青光眼",
    )

    # when
    html = _page(client)

    # then
    assert '<html lang="en" class="text-normal">' in html
    assert 'href="/">Demo Hospital Eye Centre</a>' in html
    assert '<a href="tel:010-6512-3456">010-6512-3456</a>' in html
    assert '<span lang="zh-Hans">王建国</span> (Wang Jianguo)' in html
    assert "Associate chief physician" in html
    assert "50.00 yuan" in html
    assert "白内障, 青光眼" in html
    assert doctor.department.name_en in html


def test_browse_lists_departments_with_their_sub_clinics(client):
    ophthalmology = DepartmentFactory(code="ophthalmology", name="眼科", name_en="Ophthalmology")
    DepartmentFactory(code="cataract", name="白内障专科", name_en="Cataract", parent=ophthalmology)
    DepartmentFactory(code="closed", name="已关闭", name_en="Closed clinic", is_active=False)

    zh = _get(client, reverse("browse"), "zh-hans")
    en = _get(client, reverse("browse"), "en")

    link = '<a class="card__link" href="/clinics/ophthalmology/">'
    assert re.search(
        link + r'眼科</a></h2>.*<li><a href="/clinics/cataract/">白内障专科</a></li>', zh, re.S
    )
    assert re.search(
        link + r'Ophthalmology</a></h2>.*<li><a href="/clinics/cataract/">Cataract</a></li>',
        en,
        re.S,
    )
    assert "已关闭" not in zh
    assert "Closed clinic" not in en
    assert client.get("/clinics/closed/").status_code == 404


def test_home_shows_the_places_left_per_channel(client):
    # given a session tomorrow with some places booked
    session = SessionFactory(date=TODAY + datetime.timedelta(days=1))
    first = slot_with_quotas(session=session, online=10, phone=3, walkin=4)
    second = slot_with_quotas(
        session=session,
        starts_at=session.starts_at + datetime.timedelta(minutes=30),
        online=7,
        phone=4,
        walkin=5,
    )
    Quota.objects.filter(slot=first, channel="online").update(booked=4)
    Quota.objects.filter(slot=second, channel="walkin").update(booked=1)

    # when
    card = _card(_page(client), session)

    # then 17 - 4 online, 7 phone, 9 - 1 walk-in, in words (tests/booking/test_home.py
    # covers every other state)
    places = {
        channel: (state, " ".join(text.split()))
        for channel, state, text in re.findall(
            r'<dd data-channel="(\w+)" data-state="(\w+)">(.*?)</dd>', card, re.S
        )
    }
    assert places == {
        "online": ("open", "13 places"),
        "phone": ("open", "7 places"),
        "walkin": ("open", "8 places"),
    }
    assert "Morning" in card
    assert '<time datetime="2026-11-24T08:00:00+08:00">08:00</time>' in card
    assert session.room.code in card


def test_home_shows_the_booking_window_only(client):
    # given the default policy: today up to 7 days ahead; the day after opens tomorrow
    today = SessionFactory(date=TODAY)
    newest_day = SessionFactory(date=TODAY + datetime.timedelta(days=7))
    opens_tomorrow = SessionFactory(date=TODAY + datetime.timedelta(days=8))
    too_far = SessionFactory(date=TODAY + datetime.timedelta(days=9))
    yesterday = SessionFactory(date=TODAY - datetime.timedelta(days=1))

    html = _page(client)

    assert _sessions(html) == {today.pk, newest_day.pk, opens_tomorrow.pk}
    assert too_far.pk not in _sessions(html)
    assert yesterday.pk not in _sessions(html)
    # each session is headed with its date, today marked
    assert _day(_card(html, today)) == "Monday, November 23 · Today"
    assert _day(_card(html, newest_day)) == "Monday, November 30"


def _day(card: str) -> str:
    [heading] = re.findall(r'<h3 class="card__title session__day">(.*?)</h3>', card, re.S)
    return " ".join(heading.split())


def test_a_clinic_page_says_when_there_are_no_sessions(client):
    DepartmentFactory()
    assert "No clinic sessions are scheduled in the booking window." in _page(client)


def test_a_stopped_session_is_marked_and_shows_no_places(client):
    # given
    stopped = SessionFactory(
        date=TODAY + datetime.timedelta(days=2),
        status=Session.Status.STOPPED,
        stop_reason="医生外出会诊",
    )
    slot_with_quotas(session=stopped, online=5, walkin=2)

    # when
    card = _card(_page(client), stopped)

    # then
    assert 'data-status="stopped"' in card
    assert '<p class="status status--stopped"><strong>Stopped</strong> · 医生外出会诊</p>' in card
    assert "data-channel" not in card


def test_a_stopped_session_says_停诊_on_the_chinese_page(client):
    # given
    stopped = SessionFactory(date=TODAY + datetime.timedelta(days=2), status="stopped")

    # when the page is asked for in Chinese
    html = _page(client, "zh-hans")
    card = _card(html, stopped)

    # then the badge is in the visitor's language
    assert '<html lang="zh-hans" class="text-normal">' in html
    with translation.override("zh-hans"):
        label = gettext("Stopped")
    assert f'<p class="status status--stopped"><strong>{label}</strong></p>' in card
    assert "停诊" in card


def test_the_language_switcher_switches_to_english(client):
    # given the default (Chinese) page offers both languages
    html = _get(client, reverse("home"), "zh-hans")
    assert f'action="{reverse("set_language")}" method="post"' in html
    assert 'value="zh-hans" lang="zh-hans" aria-pressed="true">简体中文' in html

    # when the visitor presses English
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})

    # then the choice sticks over the browser's Accept-Language
    assert response.status_code == 302
    assert response["Location"] == "/"
    html = _get(client, reverse("home"), "zh-hans")
    assert '<html lang="en" class="text-normal">' in html
    assert 'value="en" lang="en" aria-pressed="true">English' in html


@pytest.mark.parametrize("count", [1, 8])
def test_clinic_page_query_count_does_not_grow_with_sessions(
    count, client, django_assert_num_queries
):
    # given `count` sessions of one clinic over the week, with slots and quotas
    department = DepartmentFactory()
    for index in range(count):
        session = SessionFactory(
            doctor=DoctorFactory(department=department),
            date=TODAY + datetime.timedelta(days=1 + index % 7),
            half_day=HalfDay.AFTERNOON if index % 2 else HalfDay.MORNING,
        )
        slot_with_quotas(session=session, online=3, phone=1, walkin=2)

    # when / then: the clinic and its sub-clinics, doctors, policies, sessions, quotas,
    # closures in force, the banner's notices and closures (tests/booking/test_home.py too)
    with django_assert_num_queries(9):
        html = _get(client, reverse("browse-department", args=[department.code]))

    assert html.count('data-channel="online" data-state="open">') == count
