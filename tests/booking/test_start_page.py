"""The start page (one phone screen, nothing written, no query of its own), the text-size
switch, the shared layout's links, and the clinic pages' doctor cards: when the next
place is, in words. (Each session's states on the clinic pages: tests/booking/test_home.py.)"""

import datetime
import re

import pytest
from django.contrib.sessions.models import Session as WebSession
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse

from booking.models import Closure
from clinics.models import Channel, Quota
from core.views import TEXT_SIZE_COOKIE
from tests.booking.conftest import NOW
from tests.booking.test_home import DEFAULT, close, session_with_places
from tests.factories import AccountFactory, DepartmentFactory, DoctorFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TODAY = NOW.date()
DAY = datetime.timedelta(days=1)


def get(client, url: str, language: str = "en", **headers) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language, **headers)
    assert response.status_code == 200
    return response.content.decode()


def optional_url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


# --- the start page -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Eye emergency? Do not book.", "See the full list of eye emergencies"]),
        ("zh-hans", ["眼部急症请不要预约", "突然看不见或视力突然下降"]),
    ],
)
def test_start_page_has_the_red_flags_in_short_and_the_full_list_one_tap_away(
    client, settings, language, words
):
    settings.YUYUE_HOSPITAL_ADDRESS = "急诊楼一层"
    settings.YUYUE_HOSPITAL_ADDRESS_EN = "Emergency building"

    html = get(client, reverse("home"), language)

    for word in words:
        assert word in html
    assert re.search(
        r'<details class="red-flag__details">\s*<summary>[^<]+</summary>.*'
        r"<li>(sudden loss of vision|突然看不见或视力突然下降)</li>",
        html,
        re.S,
    )
    address = "Emergency building" if language == "en" else "急诊楼一层"
    assert '<p class="red-flag__where">' in html
    assert address in html.split('class="red-flag__where">', 1)[1].split("</p>", 1)[0]


def test_start_page_offers_booking_my_bookings_browsing_and_the_phone(client, settings):
    settings.YUYUE_HOSPITAL_PHONE = "010-6512-3456"

    html = get(client, reverse("home"))

    actions = html.split('<nav class="actions"', 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'<a class="action[^"]*" href="([^"]+)">([^<]+)</a>', actions)
    expected = []
    if optional_url("booking:start"):
        expected.append((reverse("booking:start"), "Book an appointment"))
    if optional_url("booking:mine"):
        expected.append((reverse("booking:mine"), "My bookings"))
    expected.append((reverse("browse"), "Clinics, doctors and free places"))
    assert links == expected
    assert 'Book by phone: <a href="tel:010-6512-3456">010-6512-3456</a>' in html
    # the clinic phone in the header, on this page as on every page
    assert '<p class="site-header__phone">Phone: <a href="tel:010-6512-3456">' in html
    assert "No service notices today." in html


def test_start_page_points_to_todays_notices_in_the_notice_area(client):
    close(scope=Closure.Scope.HOSPITAL)

    html = get(client, reverse("home"))

    assert '<div class="notice-area" role="status">' in html
    notice_area = html.split('<div class="notice-area" role="status">', 1)[1].split("<main", 1)[0]
    assert "Online booking is paused." in notice_area
    assert "Today's notices are shown above." in html


def test_start_page_runs_only_the_notice_queries_and_writes_nothing(
    client, django_assert_num_queries
):
    # given sessions and doctors: the start page does not list them
    for offset in range(3):
        session_with_places(TODAY + offset * DAY, **DEFAULT)

    # when / then: the banner's notices and closures, nothing else, nothing written
    with django_assert_num_queries(2) as queries:
        response = client.get(reverse("home"))

    assert response.status_code == 200
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries.captured_queries)
    assert "sessionid" not in response.cookies
    assert WebSession.objects.count() == 0
    assert 'class="card session' not in response.content.decode()


# --- the shared layout ---------------------------------------------------------------


def test_url_if_ready_renders_a_link_only_when_the_page_exists():
    template = Template(
        '{% load site_chrome %}{% url_if_ready "status" as a %}{% url_if_ready "nope:x" as b %}'
        "[{{ a }}][{{ b }}]"
    )

    assert template.render(Context()) == "[/status][]"


def test_a_visitor_sees_sign_in_and_no_account_links(client):
    html = get(client, reverse("browse"))

    account = html.split('<nav class="account-nav"', 1)[1].split("</nav>", 1)[0]
    sign_in = optional_url("patients:sign-in")
    if sign_in:
        assert f'href="{sign_in}?next=/clinics/">Sign in</a>' in account
    assert "Sign out" not in account
    assert "My bookings" not in account


def test_a_signed_in_patient_sees_their_pages_and_a_sign_out_button(client):
    client.force_login(AccountFactory())

    html = get(client, reverse("browse"))

    account = html.split('<nav class="account-nav"', 1)[1].split("</nav>", 1)[0]
    assert ">Sign in</a>" not in account
    for name, words in (
        ("booking:mine", "My bookings"),
        ("patients:patient-list", "My patients"),
        ("booking:messages", "My messages"),
    ):
        url = optional_url(name)
        assert (f'<a href="{url}">{words}</a>' in account) == bool(url), name
    if optional_url("patients:sign-out"):
        assert re.search(
            rf'<form action="{reverse("patients:sign-out")}" method="post">\s*'
            r'<input type="hidden" name="csrfmiddlewaretoken"[^>]*>\s*'
            r'<button class="button button--small" type="submit">Sign out</button>',
            account,
        )


# --- the text size ---------------------------------------------------------------------


@pytest.mark.parametrize("size", ["normal", "large", "xlarge"])
def test_text_size_is_remembered_in_a_cookie_and_goes_back(client, size):
    response = client.post(reverse("text-size"), {"size": size, "next": "/clinics/?x=1"})

    assert response.status_code == 302
    assert response["Location"] == "/clinics/?x=1"
    cookie = response.cookies[TEXT_SIZE_COOKIE]
    assert cookie.value == size
    assert cookie["max-age"] == 365 * 24 * 60 * 60
    assert cookie["samesite"] == "Lax"
    html = get(client, reverse("home"))
    assert f'<html lang="en" class="text-{size}">' in html
    assert f'name="size" value="{size}" aria-pressed="true"' in html


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", ""]
)
def test_text_size_never_sends_the_visitor_off_the_site(client, next_url):
    response = client.post(reverse("text-size"), {"size": "large", "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_an_unknown_text_size_changes_nothing(client):
    client.cookies[TEXT_SIZE_COOKIE] = "large"

    response = client.post(reverse("text-size"), {"size": "huge", "next": "/"})

    assert response.status_code == 302
    assert TEXT_SIZE_COOKIE not in response.cookies
    assert 'class="text-large"' in get(client, reverse("home"))


def test_a_tampered_text_size_cookie_shows_normal_text(client):
    client.cookies[TEXT_SIZE_COOKIE] = '"><script>'

    html = get(client, reverse("home"))

    assert '<html lang="en" class="text-normal">' in html


def test_text_size_takes_only_post(client):
    assert client.get(reverse("text-size")).status_code == 405


def test_the_text_size_switch_works_without_javascript(client):
    html = get(client, reverse("browse"))

    form = html.split('<form class="setting text-size-switcher"', 1)[1].split("</form>", 1)[0]
    assert f'action="{reverse("text-size")}" method="post"' in form
    assert '<input type="hidden" name="next" value="/clinics/">' in form
    assert re.findall(r'name="size" value="(\w+)" aria-pressed="(\w+)"', form) == [
        ("normal", "true"),
        ("large", "false"),
        ("xlarge", "false"),
    ]


# --- browsing: clinics, then a clinic's doctors -----------------------------------------


def test_browse_runs_four_queries(client, django_assert_num_queries):
    parent = DepartmentFactory()
    for _ in range(3):
        DepartmentFactory(parent=parent)
        DepartmentFactory()

    # departments, their sub-clinics; the banner's notices and closures
    with django_assert_num_queries(4):
        html = get(client, reverse("browse"))

    assert html.count('<li class="card department"') == 4


def test_an_unknown_or_closed_clinic_is_not_found(client):
    DepartmentFactory(code="closed", is_active=False)

    assert client.get("/clinics/closed/").status_code == 404
    assert client.get("/clinics/no-such-clinic/").status_code == 404


def doctor_next(html: str, doctor) -> tuple[str, str]:
    """(data-next, the words) of a doctor's card."""
    section = html.split(f'id="doctor-{doctor.pk}"', 1)[1]
    kind, words = re.search(
        r'<p class="doctor__next" data-next="(\w+)">(.*?)</p>', section, re.S
    ).groups()
    return kind, " ".join(re.sub(r"<[^>]+>", "", words).split())


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Next place online: Wednesday, November 25, Morning: 6 places left."]),
        # (the Chinese sentence's own words come with the compiled catalogue)
        ("zh-hans", ["11月25日", "星期三", "上午，", "6", "。"]),
    ],
)
def test_a_doctor_card_says_when_the_next_place_is_and_how_many(client, language, words):
    # given a full session tomorrow and one with places the day after
    department = DepartmentFactory()
    doctor = DoctorFactory(department=department)
    full = session_with_places(TODAY + DAY, department=department, **DEFAULT)
    full.doctor = doctor
    full.save()
    Quota.objects.filter(slot__session=full, channel=Channel.ONLINE).update(booked=3)
    later = session_with_places(TODAY + 2 * DAY, department=department, **DEFAULT)
    later.doctor = doctor
    later.save()

    html = get(client, reverse("browse-department", args=[department.code]), language)

    kind, shown = doctor_next(html, doctor)
    assert kind == "open"
    if language == "en":
        assert [shown] == words
    else:
        assert all(word in shown for word in words), shown


def test_a_doctor_card_before_the_release_says_when_places_open(client, clock):
    clock.move_to(datetime.datetime.combine(TODAY, datetime.time(6, 30), tzinfo=NOW.tzinfo))
    department = DepartmentFactory()
    session = session_with_places(TODAY + 7 * DAY, department=department, **DEFAULT)

    html = get(client, reverse("browse-department", args=[department.code]))

    assert doctor_next(html, session.doctor) == (
        "not_released",
        "No place to book online now. Next: Monday, November 30, Morning: Opens today 07:00",
    )


def test_a_doctor_card_when_online_booking_is_paused_or_full_or_empty(client):
    department = DepartmentFactory()
    paused = session_with_places(TODAY + DAY, department=department, **DEFAULT)
    close(scope=Closure.Scope.DOCTOR, target=paused.doctor)
    full = session_with_places(TODAY + DAY, department=department, **DEFAULT)
    Quota.objects.filter(slot__session=full, channel=Channel.ONLINE).update(booked=3)
    idle = DoctorFactory(department=department)

    html = get(client, reverse("browse-department", args=[department.code]))

    assert doctor_next(html, paused.doctor) == (
        "paused",
        "Online booking paused: see the ways to book below.",
    )
    assert doctor_next(html, full.doctor) == (
        "full",
        "Online places are all taken in the booking window.",
    )
    assert doctor_next(html, idle) == ("none", "No clinic sessions in the booking window.")


def test_a_clinic_page_jumps_to_each_doctor_and_lists_its_sub_clinics(client):
    parent = DepartmentFactory(code="eyes")
    sub = DepartmentFactory(code="retina", parent=parent, name_en="Retina clinic")
    doctors = [DoctorFactory(department=parent), DoctorFactory(department=sub)]

    html = get(client, reverse("browse-department", args=["eyes"]))

    jump = html.split('<nav class="section jump-links" id="doctors"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="#doctor-(\d+)"', jump) == [str(d.pk) for d in doctors]
    for doctor in doctors:
        assert f'<section class="section doctor" id="doctor-{doctor.pk}"' in html
    assert '<a href="/clinics/retina/">Retina clinic</a>' in html
    # place counts are words in a list, never buttons
    assert "<button" not in html.split("<main", 1)[1]
