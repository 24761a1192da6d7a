import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from clinics.models import Doctor, HalfDay, Quota, Session
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


def _page(client, language: str = "en") -> str:
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


SESSION_CARD = re.compile(r'<li class="card session[^"]*" data-status="\w+">.*?</li>', re.S)
DOCTOR_NAME = re.compile(r'<span lang="zh-Hans">([^<]+)</span>')


def _card(html: str, session: Session) -> str:
    """The markup of one session's card."""
    [card] = [
        c for c in SESSION_CARD.findall(html) if session.doctor.name in DOCTOR_NAME.findall(c)
    ]
    return card


def _session_doctors(html: str) -> list[str]:
    """The doctors' names of the session cards, in page order."""
    return [DOCTOR_NAME.search(card).group(1) for card in SESSION_CARD.findall(html)]


def test_home_shows_the_hospital_the_red_flags_and_a_doctor(client, settings):
    # given
    settings.YUYUE_HOSPITAL_NAME = "示范医院眼科中心"
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
    assert '<html lang="en">' in html
    assert '<h1 class="page-title">示范医院眼科中心</h1>' in html
    assert "Go to the emergency department now" in html
    assert "sudden loss of vision" in html
    assert '<a href="tel:010-6512-3456">010-6512-3456</a>' in html
    assert '<span lang="zh-Hans">王建国</span> (Wang Jianguo)' in html
    assert "Associate chief physician" in html
    assert "50.00 yuan" in html
    assert "白内障, 青光眼" in html
    assert doctor.department.name_en in html


def test_home_lists_departments_with_their_sub_clinics(client):
    ophthalmology = DepartmentFactory(code="ophthalmology", name="眼科", name_en="Ophthalmology")
    DepartmentFactory(code="cataract", name="白内障专科", name_en="Cataract", parent=ophthalmology)
    DepartmentFactory(code="closed", name="已关闭", name_en="Closed clinic", is_active=False)

    zh = _page(client, "zh-hans")
    en = _page(client, "en")

    assert re.search(r"<h3 class=\"card__title\">眼科</h3>.*<li>白内障专科</li>", zh, re.S)
    assert re.search(r"<h3 class=\"card__title\">Ophthalmology</h3>.*<li>Cataract</li>", en, re.S)
    assert "已关闭" not in zh
    assert "Closed clinic" not in en


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

    # then 17 - 4 online, 7 phone, 9 - 1 walk-in
    assert '<dd data-channel="online">13</dd>' in card
    assert '<dd data-channel="phone">7</dd>' in card
    assert '<dd data-channel="walkin">8</dd>' in card
    assert "Morning" in card
    assert '<time datetime="2026-11-24T08:00:00+08:00">08:00</time>' in card
    assert session.room.code in card


def test_home_shows_the_coming_week_only(client):
    today = SessionFactory(date=TODAY)
    last_day = SessionFactory(date=TODAY + datetime.timedelta(days=6))
    too_far = SessionFactory(date=TODAY + datetime.timedelta(days=7))
    yesterday = SessionFactory(date=TODAY - datetime.timedelta(days=1))

    html = _page(client)

    assert _session_doctors(html) == [today.doctor.name, last_day.doctor.name]
    assert too_far.doctor.name not in _session_doctors(html)
    assert yesterday.doctor.name not in _session_doctors(html)
    # each day is headed with its date, today marked
    assert 'id="day-2026-11-23">\n          Monday, November 23 · Today\n' in html
    assert 'id="day-2026-11-29">\n          Sunday, November 29\n' in html


def test_home_says_when_there_are_no_sessions(client):
    assert "No clinic sessions are scheduled in the coming week." in _page(client)


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
    assert '<html lang="zh-hans">' in html
    with translation.override("zh-hans"):
        label = gettext("Stopped")
    assert f'<p class="status status--stopped"><strong>{label}</strong></p>' in card
    assert "停诊" in card


def test_the_language_switcher_switches_to_english(client):
    # given the default (Chinese) page offers both languages
    html = _page(client, "zh-hans")
    assert f'action="{reverse("set_language")}" method="post"' in html
    assert 'value="zh-hans" lang="zh-hans"\n                  aria-pressed="true">简体中文' in html

    # when the visitor presses English
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})

    # then the choice sticks over the browser's Accept-Language
    assert response.status_code == 302
    assert response["Location"] == "/"
    html = _page(client, "zh-hans")
    assert '<html lang="en">' in html
    assert 'value="en" lang="en"\n                  aria-pressed="true">English' in html


@pytest.mark.parametrize("count", [1, 8])
def test_home_page_query_count_does_not_grow_with_sessions(
    count, client, django_assert_num_queries
):
    # given `count` sessions over the week, with slots and quotas
    for index in range(count):
        session = SessionFactory(
            date=TODAY + datetime.timedelta(days=index % 7),
            half_day=HalfDay.AFTERNOON if index % 2 else HalfDay.MORNING,
        )
        slot_with_quotas(session=session, online=3, phone=1, walkin=2)

    # when / then: sessions, quotas, departments, sub-clinics, doctors
    with django_assert_num_queries(7):
        html = _page(client)

    assert html.count('data-channel="online">3</dd>') == count
