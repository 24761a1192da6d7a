"""The walk-in desk: patient search, registration at the desk, today's walk-in places,
booking once on a double click, extra places [加号]. Times are Beijing time; the clock
stands at Monday 23 November 2026, 09:00."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from booking.models import Booking
from booking.selectors import desk as desk_selectors
from clinics.models import CapacityChange, Channel, Quota, Session
from core.errors import YuyueError
from patients.exceptions import PatientAlreadyRegistered
from patients.models import Account, Patient
from patients.selectors import patient_search
from patients.services import patient_register_at_desk
from tests import factories
from tests.booking.conftest import NOW, SHANGHAI
from tests.booking.helpers import assert_books_balance, snapshot

pytestmark = pytest.mark.django_db

TODAY = NOW.date()
WALKIN = reverse("admin:frontdesk_walkin")
DESK_PERMISSIONS = ("book_walkin", "book_phone", "check_in")


def at(hour: int, minute: int = 0, *, day: datetime.date = TODAY) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


def desk_user(*codenames: str) -> Account:
    """A staff member with these frontdesk permissions (the front-desk role's)."""
    user = factories.StaffFactory()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="frontdesk", codename__in=codenames)
    )
    return user


def client_for(user: Account) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def clock():
    """Time stands still at Monday 23 November 2026, 09:00 in Beijing."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk():
    return desk_user(*DESK_PERMISSIONS)


@pytest.fixture
def desk_client(desk):
    return client_for(desk)


def today_session(*, department=None, hour: int = 10, walkin: int = 2, bands: int = 2, **quotas):
    """A session today from `hour`:00 with `bands` half-hour slots, each with `walkin`
    walk-in places (and any other quotas named)."""
    extra = {"doctor__department": department} if department else {}
    session = factories.SessionFactory(
        date=TODAY, starts_at=at(hour), ends_at=at(hour + 2), **extra
    )
    for band in range(bands):
        factories.slot_with_quotas(
            session=session,
            starts_at=at(hour) + datetime.timedelta(minutes=30 * band),
            walkin=walkin,
            **quotas,
        )
    return session


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- permissions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "codename"),
    [
        (reverse("admin:frontdesk_walkin"), "book_walkin"),
        (reverse("admin:frontdesk_phone"), "book_phone"),
        (reverse("admin:frontdesk_checkin"), "check_in"),
    ],
)
def test_each_page_needs_its_permission(clock, url, codename):
    others = [c for c in DESK_PERMISSIONS if c != codename]

    assert client_for(desk_user(*others)).get(url).status_code == 403
    assert client_for(desk_user(codename)).get(url).status_code == 200


def test_pages_are_admin_pages_with_breadcrumbs(clock, desk_client):
    page = desk_client.get(WALKIN)

    assert page.status_code == 200
    assert page.context["title"] == "Walk-in registration"
    assert page.context["opts"].model_name == "queueticket"
    assert reverse("admin:index") in page.content.decode()
    assert 'class="breadcrumbs"' in page.content.decode()


def test_patients_cannot_open_the_desk(clock, patient):
    page = client_for(patient.account).get(WALKIN)

    assert page.status_code == 302
    assert page["Location"].startswith(reverse("admin:login"))


# --- patient search --------------------------------------------------------------------


@pytest.fixture
def people(db):
    """Three patients: one with a phone of their own, one reached by the account's phone,
    one with an ID ending in X; and a removed one who matches everything."""
    own = factories.PatientFactory(
        real_name="王秀英", phone="13912345678", medical_record_number="Y000000001"
    )
    family = factories.PatientFactory(
        real_name="李建国",
        account=factories.AccountFactory(username="13700001111", phone="13700001111"),
        phone="",
        medical_record_number="Y000000002",
    )
    x_id = factories.PatientFactory(
        real_name="张伟",
        birth_date=datetime.date(1949, 12, 31),
        document_number="11010519491231002X",
        medical_record_number="Y000000003",
    )
    removed = factories.PatientFactory(
        real_name="王秀英",
        phone="13912345678",
        medical_record_number="Y000000004",
        removed_at=NOW,
    )
    return {"own": own, "family": family, "x_id": x_id, "removed": removed}


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("139 1234 5678", "own"),  # the patient's own phone, typed in groups
        ("+86 137-0000-1111", "family"),  # the account's phone
        ("y000000002", "family"),  # medical record number
        ("建国", "family"),  # part of the name
        ("002x", "x_id"),  # the ID's last 4 characters
    ],
)
def test_search_finds_by_phone_record_number_name_and_id_tail(
    people, query, who, django_assert_num_queries
):
    with django_assert_num_queries(1):
        found = patient_search(query=query)

    assert found == [people[who]]


def test_search_leaves_out_removed_patients_and_empty_queries(people, django_assert_num_queries):
    assert patient_search(query="王秀英") == [people["own"]]
    with django_assert_num_queries(0):
        assert patient_search(query="  ") == []


def test_search_results_show_the_id_tail_and_a_masked_phone_only(clock, desk_client, people):
    page = desk_client.get(WALKIN, {"q": "13912345678"})

    html = page.content.decode()
    assert [p.pk for p in page.context["results"]] == [people["own"].pk]
    assert "139****5678" in html
    assert "13912345678" not in html.replace('value="13912345678"', "")
    assert people["own"].document_number not in html
    assert people["own"].document_number[-4:] in html
    assert "Y000000001" in html
    assert f"?patient={people['own'].pk}" in html


# --- registration at the desk -------------------------------------------------------------


def register(**fields) -> Patient:
    arguments = {
        "real_name": "赵敏",
        "document_type": Patient.DocumentType.RESIDENT_ID,
        "document_number": factories.resident_id(birth_date=datetime.date(1950, 5, 6)),
    } | fields
    if "registered_by" not in arguments:
        arguments["registered_by"] = factories.StaffFactory()
    return patient_register_at_desk(**arguments)


def test_registering_with_a_new_phone_makes_its_account_with_the_patient_as_self(clock):
    patient = register(phone="138 0013 8000")

    assert patient.account.phone == "13800138000"
    assert patient.account.username == "13800138000"
    assert patient.relationship == Patient.Relationship.SELF
    assert patient.phone == "13800138000"
    assert patient.birth_date == datetime.date(1950, 5, 6)
    assert patient.medical_record_number.startswith("Y")


def test_registering_with_a_known_phone_joins_that_account_as_other_family(clock, patient):
    newcomer = register(phone=patient.account.phone)

    assert newcomer.account_id == patient.account_id
    assert newcomer.relationship == Patient.Relationship.OTHER


def test_registering_without_a_phone_gives_a_desk_owned_account(clock):
    patient = register()

    account = patient.account
    assert account.phone is None
    assert account.username.startswith("desk-") and len(account.username) == 17
    assert not account.has_usable_password()
    assert not account.is_staff
    assert list(account.patients.all()) == [patient]
    assert patient.relationship == Patient.Relationship.SELF


def test_a_person_registered_in_any_account_is_offered_not_registered_twice(clock, patient, staff):
    before = (Account.objects.count(), Patient.objects.count())

    with pytest.raises(PatientAlreadyRegistered) as info:
        register(
            document_number=patient.document_number,
            real_name=patient.real_name,
            phone="13800138000",
            registered_by=staff,
        )

    assert info.value.patient == patient
    assert (Account.objects.count(), Patient.objects.count()) == before


def test_an_invalid_identity_registers_nothing(clock, staff):
    before = (Account.objects.count(), Patient.objects.count())

    with pytest.raises(YuyueError) as info:
        register(document_number="110105195005060000", phone="13800138000", registered_by=staff)

    assert info.value.code == "invalid_document_number"
    assert (Account.objects.count(), Patient.objects.count()) == before


def test_the_page_registers_a_walkin_without_a_phone_and_chooses_them(clock, desk_client):
    page = desk_client.post(
        WALKIN + "?new=1",
        {
            "action": "register",
            "real_name": "孙丽",
            "document_type": Patient.DocumentType.PASSPORT,
            "document_number": "E12345678",
            "birth_date": "1948-02-03",
            "sex": "F",
            "phone": "",
        },
    )

    patient = Patient.objects.get(real_name="孙丽")
    assert page.status_code == 302
    assert page["Location"] == f"{WALKIN}?patient={patient.pk}"
    assert patient.account.phone is None
    assert patient.account.username.startswith("desk-")


def test_the_page_shows_a_refusal_next_to_the_field_and_registers_nothing(clock, desk_client):
    before = Patient.objects.count()

    page = desk_client.post(
        WALKIN + "?new=1",
        {
            "action": "register",
            "real_name": "孙丽",
            "document_type": Patient.DocumentType.PASSPORT,
            "document_number": "E12345678",
            "phone": "",
        },
    )

    assert page.status_code == 200
    assert page.context["new_form"].errors == {
        "birth_date": ["Please give the birth date and sex shown on the document."]
    }
    assert Patient.objects.count() == before


def test_the_page_offers_the_already_registered_patient(clock, desk_client, patient):
    page = desk_client.post(
        WALKIN + "?new=1",
        {
            "action": "register",
            "real_name": patient.real_name,
            "document_type": Patient.DocumentType.RESIDENT_ID,
            "document_number": patient.document_number,
        },
    )

    assert page.status_code == 200
    assert page.context["existing"] == patient
    assert messages_of(page) == [
        "This person is already registered. Choose the registered patient below."
    ]
    assert f"?patient={patient.pk}" in page.content.decode()


# --- today's sessions and booking ---------------------------------------------------------


def test_sessions_today_list_walkin_places_and_the_next_slot(clock, django_assert_num_queries):
    department = factories.DepartmentFactory()
    open_session = today_session(department=department, hour=8, walkin=2, bands=4)
    full = today_session(department=department, hour=10, walkin=0)
    factories.SessionFactory(  # tomorrow: not today's
        doctor__department=department, date=TODAY + datetime.timedelta(days=1)
    )

    with django_assert_num_queries(4):
        sessions = desk_selectors.walkin_sessions_today(department=department, now=NOW)

    assert [s.pk for s in sessions] == [open_session.pk, full.pk]
    # 08:00, 08:30 and 09:00 have started at 09:00; only 09:30 is left.
    assert sessions[0].availability.places == 2
    assert sessions[0].next_slot.starts_at == at(9, 30)
    assert sessions[1].availability.state == desk_selectors.State.FULL
    assert sessions[1].next_slot is None


def book_walkin(client, patient, session, *, key="k-1"):
    slot = session.slots.order_by("starts_at").first()
    return client.post(
        WALKIN,
        {
            "action": "book",
            "patient": patient.pk,
            "department": session.department_id,
            "slot": slot.pk,
            "key": key,
        },
    )


def test_the_page_lists_todays_sessions_for_the_chosen_patient(
    clock, desk_client, patient, django_assert_num_queries
):
    session = today_session()

    # Sign-in and permissions (4), the patient (1), the department chooser (2), the
    # sessions (4), the session cookie (3): none per session.
    with django_assert_num_queries(14):
        page = desk_client.get(WALKIN, {"patient": patient.pk, "department": session.department_id})

    assert [s.pk for s in page.context["sessions"]] == [session.pk]
    html = page.content.decode()
    assert 'name="key"' in html
    assert "Book " in html


def test_booking_twice_with_one_key_books_one_walkin_place_and_opens_the_ticket(
    clock, desk_client, desk, patient
):
    session = today_session(online=3)

    first = book_walkin(desk_client, patient, session)
    second = book_walkin(desk_client, patient, session)

    booking = Booking.objects.get()
    assert first.status_code == second.status_code == 302
    assert (
        first["Location"]
        == second["Location"]
        == reverse("admin:frontdesk_ticket", args=[booking.pk])
    )
    assert booking.channel == Channel.WALKIN
    assert booking.requested_by == desk
    assert booking.booked_by == Booking.BookedBy.STAFF
    assert Quota.objects.get(slot=booking.slot, channel=Channel.WALKIN).booked == 1
    assert Quota.objects.get(slot=booking.slot, channel=Channel.ONLINE).booked == 0
    assert_books_balance()


def test_a_refused_booking_says_why_and_changes_nothing(clock, desk_client, patient):
    session = today_session(walkin=0)
    before = snapshot()

    page = book_walkin(desk_client, patient, session)

    assert page.status_code == 302
    assert page["Location"] == f"{WALKIN}?patient={patient.pk}&department={session.department_id}"
    assert messages_of(desk_client.get(page["Location"])) == [
        "This time slot is fully booked. Please choose another time or join the waitlist."
    ]
    assert snapshot() == before


# --- extra places [加号] -------------------------------------------------------------------


def add_extra(client, patient, session, *, reason="高龄患者，远道而来", key="x-1"):
    return client.post(
        WALKIN,
        {
            "action": "extra",
            "patient": patient.pk,
            "department": session.department_id,
            "session": session.pk,
            "reason": reason,
            "key": key,
        },
    )


def test_the_extra_place_button_shows_only_with_the_permission_when_walkin_is_full(clock, patient):
    session = today_session(walkin=0)
    params = {"patient": patient.pk, "department": session.department_id}

    without = client_for(desk_user(*DESK_PERMISSIONS)).get(WALKIN, params)
    with_it = client_for(desk_user(*DESK_PERMISSIONS, "add_extra_place")).get(WALKIN, params)

    assert 'value="extra"' not in without.content.decode()
    assert 'value="extra"' in with_it.content.decode()


def test_an_extra_place_needs_the_permission(clock, desk_client, patient):
    session = today_session(walkin=0)
    before = snapshot()

    page = add_extra(desk_client, patient, session)

    assert page.status_code == 403
    assert snapshot() == before


def test_an_extra_place_needs_a_reason(clock, patient):
    session = today_session(walkin=0)
    client = client_for(desk_user(*DESK_PERMISSIONS, "add_extra_place"))
    before = snapshot()

    page = add_extra(client, patient, session, reason="  ")

    assert messages_of(client.get(page["Location"])) == [
        "Say why an extra place is added: the reason is recorded with it."
    ]
    assert snapshot() == before


def test_an_extra_place_grows_the_walkin_quota_by_one_and_books_it_once(clock, patient):
    session = today_session(walkin=0, hour=10)
    user = desk_user(*DESK_PERMISSIONS, "add_extra_place")
    client = client_for(user)

    first = add_extra(client, patient, session)
    second = add_extra(client, patient, session)

    booking = Booking.objects.get()
    assert (
        first["Location"]
        == second["Location"]
        == reverse("admin:frontdesk_ticket", args=[booking.pk])
    )
    assert booking.channel == Channel.WALKIN
    quota = Quota.objects.get(slot=booking.slot, channel=Channel.WALKIN)
    assert (quota.capacity, quota.booked) == (1, 1)
    change = CapacityChange.objects.get()
    assert (change.delta, change.reason, change.note, change.changed_by) == (
        1,
        CapacityChange.Reason.EXTRA_PLACE,
        "高龄患者，远道而来",
        user,
    )
    assert_books_balance()


def test_a_session_not_today_is_never_listed(clock, desk_client, patient):
    session = factories.SessionFactory()  # tomorrow
    assert session.date != TODAY

    page = desk_client.get(WALKIN, {"patient": patient.pk, "department": session.department_id})

    assert page.context["sessions"] == []
    assert Session.objects.count() == 1
