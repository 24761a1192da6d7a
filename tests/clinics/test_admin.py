"""The clinic admin: thin pages, service-only writes, no query per row."""

import datetime

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinics import services
from clinics.admin import SessionAddForm
from clinics.exceptions import SessionExists
from clinics.models import HalfDay, Quota, ScheduleTemplate, Session
from clinics.services import sessions_generate
from tests.clinics.helpers import inventory
from tests.factories import (
    DoctorFactory,
    RoomFactory,
    ScheduleTemplateFactory,
    SessionFactory,
    slot_with_quotas,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

CHANGELISTS = ["department", "doctor", "room", "scheduletemplate", "session", "slot", "quota"]


@pytest.fixture
def admin_client(admin_client):
    """A superuser whose pages are in English (the site's default is Chinese)."""
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


def changelist(model: str) -> str:
    return reverse(f"admin:clinics_{model}_changelist")


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelists_do_not_grow_a_query_per_row(admin_client, model):
    # given: one template's week, then four more templates' weeks
    ScheduleTemplateFactory(weekday=0)
    sessions_generate()
    few = queries_for(admin_client, changelist(model))
    for weekday in range(1, 5):
        ScheduleTemplateFactory(weekday=weekday)
    sessions_generate()

    many = queries_for(admin_client, changelist(model))

    assert many == few


def test_session_and_slot_pages_show_the_places(admin_client):
    ScheduleTemplateFactory(slot_count=2, places_per_slot=3)
    sessions_generate(days=1)
    session = Session.objects.get()
    slot = session.slots.order_by("starts_at").first()

    session_page = admin_client.get(reverse("admin:clinics_session_change", args=[session.pk]))
    slot_page = admin_client.get(reverse("admin:clinics_slot_change", args=[slot.pk]))

    assert session_page.status_code == 200
    assert "Online 0/2 · Phone 0/0 · Walk-in 0/1" in session_page.content.decode()
    assert slot_page.status_code == 200
    list_page = admin_client.get(changelist("session")).content.decode()
    assert "0 / 6" in list_page


def test_sessions_slots_and_quotas_cannot_be_edited_or_deleted_in_the_admin(admin_client):
    ScheduleTemplateFactory(slot_count=1)
    sessions_generate(days=1)
    session = Session.objects.get()
    quota = Quota.objects.get(channel="online")

    responses = [
        admin_client.post(
            reverse("admin:clinics_quota_change", args=[quota.pk]),
            {"capacity": 99, "booked": 99},
        ),
        admin_client.post(
            reverse("admin:clinics_session_delete", args=[session.pk]), {"post": "yes"}
        ),
        admin_client.get(reverse("admin:clinics_quota_add")),
        admin_client.get(reverse("admin:clinics_slot_add")),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403, 403]
    quota.refresh_from_db()
    assert (quota.capacity, quota.booked) == (2, 0)
    assert inventory() == (1, 1, 4)


def test_template_action_generates_the_selected_templates_week(admin_client):
    chosen = ScheduleTemplateFactory(weekday=0)
    ScheduleTemplateFactory(weekday=1)

    response = admin_client.post(
        changelist("scheduletemplate"),
        {"action": "generate_sessions", "_selected_action": [chosen.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "2 sessions created (10 slots, 30 places); 0 already existed." in (
        response.content.decode()
    )
    assert set(Session.objects.values_list("template_id", flat=True)) == {chosen.pk}


def test_template_list_shows_the_weekday_by_name(admin_client):
    ScheduleTemplateFactory(weekday=2)

    page = admin_client.get(changelist("scheduletemplate")).content.decode()

    assert "Wednesday" in page
    assert "5 × 3 = 15" in page
    assert "60 / 10 / 30 / 0" in page


def test_template_form_picks_the_weekday_by_name(admin_client):
    doctor = DoctorFactory()
    room = RoomFactory(department=doctor.department)

    response = admin_client.post(
        reverse("admin:clinics_scheduletemplate_add"),
        {
            "doctor": doctor.pk,
            "department": doctor.department.pk,
            "room": room.pk,
            "weekday": "4",
            "half_day": HalfDay.MORNING,
            "level": doctor.level,
            "start_time": "08:00",
            "slot_minutes": 30,
            "slot_count": 8,
            "places_per_slot": 2,
            "online_percent": 60,
            "phone_percent": 10,
            "walkin_percent": 30,
            "reserved_percent": 0,
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    assert ScheduleTemplate.objects.get().weekday == 4


def add_form(doctor, room, **overrides) -> dict:
    return {
        "doctor": doctor.pk,
        "department": doctor.department.pk,
        "room": room.pk,
        "date": "2026-11-26",
        "half_day": HalfDay.AFTERNOON,
        "start_time": "14:00",
        "slot_minutes": 30,
        "slot_count": 4,
        "places_per_slot": 5,
        "online_percent": 40,
        "phone_percent": 20,
        "walkin_percent": 40,
        "reserved_percent": 0,
    } | overrides


def test_adding_a_session_by_hand_goes_through_session_add(admin_client):
    doctor = DoctorFactory()
    room = RoomFactory(department=doctor.department)

    response = admin_client.post(reverse("admin:clinics_session_add"), add_form(doctor, room))

    assert response.status_code == 302
    session = Session.objects.get()
    assert session.template is None
    assert session.date == datetime.date(2026, 11, 26)
    assert inventory() == (1, 4, 16)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slot_minutes": 45}, "a slot must last 5 to 30 minutes"),
        ({"reserved_percent": 10}, "add up to 100"),
    ],
)
def test_a_refused_hand_added_session_shows_why(admin_client, overrides, message):
    doctor = DoctorFactory()
    room = RoomFactory(department=doctor.department)

    response = admin_client.post(
        reverse("admin:clinics_session_add"), add_form(doctor, room, **overrides)
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert inventory() == (0, 0, 0)


def test_a_second_hand_added_session_in_the_half_day_is_refused(admin_client):
    doctor = DoctorFactory()
    room = RoomFactory(department=doctor.department)
    admin_client.post(reverse("admin:clinics_session_add"), add_form(doctor, room))
    before = inventory()

    response = admin_client.post(
        reverse("admin:clinics_session_add"), add_form(doctor, room, start_time="15:00")
    )

    assert response.status_code == 200
    assert "This doctor already has a session in that half-day." in response.content.decode()
    assert inventory() == before


def test_slot_times_read_in_beijing_time(admin_client):
    # given a slot at 08:00 in Shanghai tomorrow, stored as 00:00 UTC
    doctor = DoctorFactory(name="刘芳", name_en="Liu Fang")
    session = SessionFactory(doctor=doctor, date=datetime.date(2026, 12, 3))
    slot = slot_with_quotas(session=session, online=2)
    assert slot.starts_at.astimezone(datetime.UTC).hour == 0

    # then its name and the quota list (which names the slot) say 08:00
    assert str(slot) == "2026-12-03 Morning Liu Fang 08:00"
    quotas = admin_client.get(changelist("quota")).content.decode()
    assert "2026-12-03 Morning Liu Fang 08:00" in quotas
    assert "Liu Fang 00:00" not in quotas
    assert "8 a.m." in admin_client.get(changelist("slot")).content.decode()


def test_the_add_form_writes_nothing_itself_but_session_add_does(admin_client, monkeypatch):
    # given the service counted, and refusing for a moment as a twin added at once would
    calls = []
    real_session_add = services.session_add

    def spy(**kwargs):
        calls.append(kwargs)
        return real_session_add(**kwargs)

    monkeypatch.setattr(services, "session_add", spy)
    doctor = DoctorFactory()
    room = RoomFactory(department=doctor.department)

    # when staff add a session
    response = admin_client.post(
        reverse("admin:clinics_session_add"), add_form(doctor, room), follow=True
    )

    # then session_add made it, once, and the admin went on with the row it made
    assert len(calls) == 1
    session = Session.objects.get()
    assert response.redirect_chain == [(changelist("session"), 302)]
    (added,) = [str(m) for m in response.context["messages"]]
    assert f"“{session}” was added successfully" in added
    entry = LogEntry.objects.get()
    assert (entry.object_id, entry.action_flag) == (str(session.pk), ADDITION)


def test_a_refusal_only_session_add_sees_writes_nothing_and_says_why(admin_client, monkeypatch):
    # given a twin session is added between the form's check and the insert
    def refuse(**kwargs):
        raise SessionExists()

    monkeypatch.setattr(services, "session_add", refuse)
    doctor = DoctorFactory()
    room = RoomFactory(department=doctor.department)

    response = admin_client.post(
        reverse("admin:clinics_session_add"), add_form(doctor, room), follow=True
    )

    assert response.redirect_chain == [(reverse("admin:clinics_session_add"), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "This doctor already has a session in that half-day."
    ]
    assert inventory() == (0, 0, 0)
    assert not LogEntry.objects.exists()


def test_checking_the_add_form_writes_nothing():
    doctor = DoctorFactory()
    room = RoomFactory(department=doctor.department)
    form = SessionAddForm(data=add_form(doctor, room))

    assert form.is_valid(), form.errors
    assert inventory() == (0, 0, 0)

    refused = SessionAddForm(data=add_form(doctor, room, slot_minutes=45))
    assert not refused.is_valid()
    assert inventory() == (0, 0, 0)
