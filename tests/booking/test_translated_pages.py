"""What patients read of the catalogue and the hospital, in Chinese and in English: the
clinic pages, the status page and its JSON, the signs, the messages, the demo data."""

import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from booking import services
from booking.models import Closure
from booking.selectors import closures as closure_selectors
from booking.services import closures
from booking.services.bookings import name_in
from clinics.models import Channel, Department, Doctor, Room, Session
from notifications.models import OutboxMessage
from patients.models import Account
from tests import factories
from tests.booking.conftest import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

HOSPITAL = {
    "hospital name": ("甲医院眼科中心", "Hospital A Eye Centre"),
    "emergency address": ("急诊楼一层，甲路一号", "Emergency building, 1 A Road"),
}
CATALOGUE = {
    "department name": ("眼科门诊部", "Ophthalmology outpatients"),
    "department location": ("门诊楼三层", "Outpatient building, 3rd floor"),
    "sub-clinic name": ("白内障专科", "Cataract clinic"),
    "sub-clinic location": ("门诊楼三层甲区", "3rd floor, area A"),
    "doctor name": ("王建国", "Wang Jianguo"),
    "specialties": ("复杂白内障、人工晶体", "complex cataract, intraocular lenses"),
    "bio": ("擅长白内障超声乳化手术。", "Cataract surgeon."),
    "room name": ("白内障一诊室", "Cataract room 1"),
}


@pytest.fixture
def hospital(settings):
    (settings.YUYUE_HOSPITAL_NAME, settings.YUYUE_HOSPITAL_NAME_EN) = HOSPITAL["hospital name"]
    (settings.YUYUE_HOSPITAL_ADDRESS, settings.YUYUE_HOSPITAL_ADDRESS_EN) = HOSPITAL[
        "emergency address"
    ]


def text(label: str, field: str) -> dict[str, str]:
    """Factory keywords for one CATALOGUE entry (the plain field is the Chinese text)."""
    chinese, english = CATALOGUE[label]
    return {field: chinese, f"{field}_en": english}


@pytest.fixture
def catalogue(hospital) -> Session:
    """Ophthalmology, its cataract clinic, a doctor there and tomorrow's session."""
    ophthalmology = factories.DepartmentFactory(
        code="ophthalmology",
        sort_order=1,
        **text("department name", "name"),
        **text("department location", "location"),
    )
    cataract = factories.DepartmentFactory(
        code="cataract",
        sort_order=2,
        parent=ophthalmology,
        **text("sub-clinic name", "name"),
        **text("sub-clinic location", "location"),
    )
    doctor = factories.DoctorFactory(
        department=cataract,
        **text("doctor name", "name"),
        **text("specialties", "specialties"),
        **text("bio", "bio"),
    )
    room = factories.RoomFactory(department=cataract, **text("room name", "name"))
    session = factories.SessionFactory(doctor=doctor, room=room)
    factories.slot_with_quotas(session=session, online=3, phone=1, walkin=2)
    return session


def page(client, url: str, language: str) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


# --- the clinic pages (the catalogue moved there from the start page) ---------------------------------------------------------------------


@pytest.mark.parametrize("label", [*HOSPITAL, *CATALOGUE])
def test_clinic_page_in_english_shows_the_english_text(catalogue, client, label):
    chinese, english = {**HOSPITAL, **CATALOGUE}[label]

    html = page(client, reverse("browse-department", args=["ophthalmology"]), "en")

    assert english in html
    if label == "doctor name":
        # The characters stay beside the pinyin: the doors and queue screens show them.
        assert f'<span lang="zh-Hans">{chinese}</span> ({english})' in html
    else:
        assert chinese not in html


@pytest.mark.parametrize("label", [*HOSPITAL, *CATALOGUE])
def test_clinic_page_in_chinese_shows_the_chinese_text(catalogue, client, label):
    chinese, english = {**HOSPITAL, **CATALOGUE}[label]

    html = page(client, reverse("browse-department", args=["ophthalmology"]), "zh-hans")

    assert chinese in html
    assert english not in html


def test_clinic_page_in_english_falls_back_to_chinese_while_the_english_is_empty(
    catalogue, client, settings
):
    # given a clinic, a doctor and a room never translated, and no English address
    settings.YUYUE_HOSPITAL_ADDRESS_EN = ""
    Department.objects.filter(code="cataract").update(name_en="", location_en=None)
    Doctor.objects.filter(pk=catalogue.doctor_id).update(name_en="", specialties_en="")
    Room.objects.filter(pk=catalogue.room_id).update(name_en=None)

    html = page(client, reverse("browse-department", args=["ophthalmology"]), "en")

    for label in ("sub-clinic name", "sub-clinic location", "specialties", "room name"):
        assert CATALOGUE[label][0] in html, label
    assert HOSPITAL["emergency address"][0] in html
    # The name once, not "王建国 (王建国)".
    assert '<span lang="zh-Hans">王建国</span>\n' in html
    assert "(王建国)" not in html
    # What has English still shows it.
    assert CATALOGUE["department name"][1] in html


# --- the status page, its JSON and the signs ------------------------------------------


@pytest.mark.parametrize(("language", "index"), [("zh-hans", 0), ("en", 1)])
def test_status_page_shows_clinics_and_the_emergency_address_in_the_page_language(
    catalogue, client, language, index
):
    html = page(client, reverse("status"), language)

    names = re.findall(r'<h3 class="card__title">([^<]+)</h3>', html)
    assert names == [CATALOGUE["department name"][index], CATALOGUE["sub-clinic name"][index]]
    assert HOSPITAL["emergency address"][index] in html
    assert HOSPITAL["emergency address"][1 - index] not in html


def test_status_page_in_english_falls_back_to_the_chinese_name(catalogue, client):
    Department.objects.filter(code="cataract").update(name_en="")

    html = page(client, reverse("status"), "en")

    names = re.findall(r'<h3 class="card__title">([^<]+)</h3>', html)
    assert names == [CATALOGUE["department name"][1], CATALOGUE["sub-clinic name"][0]]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_status_json_gives_both_names_whatever_the_request_language(catalogue, client, language):
    Department.objects.filter(code="cataract").update(name_en=None)

    departments = client.get("/api/v1/status", HTTP_ACCEPT_LANGUAGE=language).json()["departments"]

    assert [(d["name"], d["name_en"]) for d in departments] == [
        CATALOGUE["department name"],
        # Not translated yet: the Chinese name in both, never null.
        (CATALOGUE["sub-clinic name"][0], CATALOGUE["sub-clinic name"][0]),
    ]


def test_closure_names_its_target_in_both_languages(catalogue, staff):
    closure = closures.closure_create(
        scope=Closure.Scope.DOCTOR,
        target=catalogue.doctor,
        channels=[Channel.ONLINE],
        starts_at=NOW,
        ends_at=None,
        reason=Closure.Reason.CAPACITY,
        notice="暂停",
        notice_en="Paused",
        release_places=False,
        created_by=staff,
    )

    assert closure_selectors.closure_target_names(closure) == {
        "zh-hans": "王建国",
        "en": "Wang Jianguo",
    }
    assert closure_selectors.closure_for_display(closure, language="en")["target"] == (
        "Wang Jianguo"
    )


def test_session_sign_has_a_chinese_half_and_an_english_half(catalogue, admin_client):
    Session.objects.filter(pk=catalogue.pk).update(
        status=Session.Status.STOPPED, stop_reason="外出会诊"
    )

    # The staff member's own language does not matter: a sign speaks both.
    html = page(admin_client, f"/signs/session/{catalogue.pk}", "zh-hans")

    chinese, english = re.findall(r'<p class="sign__target">([^<]+)</p>', html)
    assert chinese.startswith(f"{CATALOGUE['sub-clinic name'][0]} · 王建国 (")
    assert english.startswith(f"{CATALOGUE['sub-clinic name'][1]} · Wang Jianguo (")
    assert '<header class="sign__hospital">甲医院眼科中心 Hospital A Eye Centre</header>' in html


def test_a_sign_names_the_hospital_once_when_it_has_no_english_name(
    catalogue, admin_client, settings
):
    settings.YUYUE_HOSPITAL_NAME_EN = ""
    Session.objects.filter(pk=catalogue.pk).update(status=Session.Status.STOPPED)

    html = page(admin_client, f"/signs/session/{catalogue.pk}", "en")

    assert '<header class="sign__hospital">甲医院眼科中心</header>' in html


# --- messages in the patient's language -------------------------------------------------


@pytest.mark.parametrize(
    ("language", "department", "doctor"),
    [
        (Account.Language.ZH_HANS, "白内障专科", "王建国"),
        (Account.Language.EN, "Cataract clinic", "Wang Jianguo"),
    ],
)
def test_booking_message_names_the_clinic_and_doctor_in_the_patients_language(
    catalogue, language, department, doctor
):
    patient = factories.PatientFactory(account__language=language)

    services.booking_create(
        patient=patient,
        slot=catalogue.slots.get(),
        channel=Channel.ONLINE,
        requested_by=patient.account,
    )

    context = OutboxMessage.objects.get(kind="booking_confirmed").context
    assert (context["department"], context["doctor"]) == (department, doctor)


def test_message_in_english_falls_back_to_the_chinese_name(catalogue):
    doctor = Doctor.objects.get(pk=catalogue.doctor_id)
    doctor.name_en = ""

    assert name_in(doctor, "en") == "王建国"
    assert name_in(doctor.department, "en") == "Cataract clinic"
    assert name_in(doctor.department, "zh-hans") == "白内障专科"


# --- the demo data ----------------------------------------------------------------------

TRANSLATED = {
    Department: ("name", "location"),
    Doctor: ("name", "specialties", "bio"),
    Room: ("name",),
}


def test_seed_demo_gives_every_catalogue_row_its_english_text(settings):
    settings.DEBUG = True  # the demo refuses to run in production
    call_command("seed_demo", stdout=io.StringIO())

    for model, fields in TRANSLATED.items():
        rows = list(model.objects.all())
        assert rows, model
        for row in rows:
            for field in fields:
                chinese, english = getattr(row, f"{field}_zh_hans"), getattr(row, f"{field}_en")
                assert chinese and english, (row.pk, field)
                assert english != chinese, (row.pk, field)
                assert not re.search(r"[\u4e00-\u9fff]", english), (row.pk, field, english)


def test_seed_demo_again_adds_nothing_and_fills_english_an_older_seed_lacked(settings):
    settings.DEBUG = True  # the demo refuses to run in production
    call_command("seed_demo", stdout=io.StringIO())
    counts = [model.objects.count() for model in TRANSLATED]
    Department.objects.filter(code="cataract").update(location_en=None)
    Doctor.objects.filter(name_zh_hans="王建国").update(bio_en="", name_en="Dr Wang (edited)")

    call_command("seed_demo", stdout=io.StringIO())

    assert [model.objects.count() for model in TRANSLATED] == counts
    cataract = Department.objects.get(code="cataract")
    wang = Doctor.objects.get(name_zh_hans="王建国")
    assert cataract.location_en == "Outpatient building, 3rd floor, area A"
    assert (
        wang.bio_en == "Chief physician, special interests: complex cataract, intraocular lenses."
    )
    assert wang.name_en == "Dr Wang (edited)"  # staff's text stays
