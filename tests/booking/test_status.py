"""The status page and its JSON, the banner, the signs, and the staff closure API."""

import datetime

import pytest

from booking.models import Closure, Notice
from booking.selectors import closures as selectors
from booking.services import closures
from clinics.models import Channel, Session
from tests import factories
from tests.booking.conftest import NOW

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def clinic(clock, staff):
    """Ophthalmology with two sub-clinics; closures and notices past, present and future."""
    ophthalmology = factories.DepartmentFactory(
        code="ophthalmology", name="眼科", name_en="Ophthalmology", sort_order=1
    )
    cataract = factories.DepartmentFactory(
        code="cataract",
        name="白内障专科",
        name_en="Cataract clinic",
        parent=ophthalmology,
        sort_order=2,
    )
    glaucoma = factories.DepartmentFactory(
        code="glaucoma", name="青光眼专科", name_en="Glaucoma clinic", sort_order=3
    )
    li = factories.DoctorFactory(department=glaucoma, name="李秀英", name_en="Li Xiuying")

    def close(**kwargs):
        defaults = {
            "scope": Closure.Scope.DEPARTMENT,
            "target": None,
            "channels": [Channel.ONLINE],
            "starts_at": NOW - HOUR,
            "ends_at": None,
            "reason": Closure.Reason.CAPACITY,
            "notice": "通知",
            "notice_en": "Notice",
            "release_places": False,
            "created_by": staff,
        }
        return closures.closure_create(**{**defaults, **kwargs})

    capacity = close(
        target=ophthalmology,
        ends_at=NOW.replace(hour=18),
        notice="眼科线上预约暂停。",
        notice_en="Online booking for ophthalmology is paused.",
    )
    doctor_away = close(
        scope=Closure.Scope.DOCTOR,
        target=li,
        channels=[Channel.PHONE, Channel.ONLINE],
        reason=Closure.Reason.DOCTOR_UNAVAILABLE,
        notice="李医生外出会诊。",
        notice_en="Dr Li is away.",
    )
    maintenance = close(
        scope=Closure.Scope.HOSPITAL,
        starts_at=NOW.replace(hour=22) + DAY,
        ends_at=NOW.replace(hour=22) + DAY + 4 * HOUR,
        reason=Closure.Reason.MAINTENANCE,
        notice="系统维护。",
        notice_en="System maintenance.",
    )
    # Not shown: over, reopened, and too far ahead.
    Closure.objects.create(  # history: closure_create refuses a closure already over
        scope=Closure.Scope.DEPARTMENT,
        department=glaucoma,
        starts_at=NOW - 3 * DAY,
        ends_at=NOW - DAY,
        reason=Closure.Reason.OTHER,
        notice="旧",
        notice_en="Old",
    )
    reopened = close(target=glaucoma, channels=[Channel.WALKIN])
    closures.closure_reopen(closure=reopened, reopened_by=staff, now=NOW - HOUR / 2)
    close(scope=Closure.Scope.HOSPITAL, starts_at=NOW + 20 * DAY)

    warning = closures.notice_create(
        title="春节门诊安排",
        title_en="Spring Festival hours",
        body="除夕仅开放急诊。",
        body_en="Only the emergency department is open on New Year's Eve.",
        severity=Notice.Severity.WARNING,
        starts_at=NOW - DAY,
        ends_at=NOW + DAY,
        created_by=staff,
    )
    info = closures.notice_create(
        title="新院区开诊",
        title_en="New campus open",
        body="东院区眼科已开诊。",
        body_en="The east campus eye clinic is open.",
        starts_at=NOW - HOUR,
        created_by=staff,
    )
    closures.notice_create(
        title="旧",
        title_en="Old",
        body="旧",
        body_en="Old",
        starts_at=NOW - 3 * DAY,
        ends_at=NOW - DAY,
        created_by=staff,
    )
    closures.notice_create(
        title="未来",
        title_en="Future",
        body="未来",
        body_en="Future",
        starts_at=NOW + DAY,
        created_by=staff,
    )
    return {
        "ophthalmology": ophthalmology,
        "cataract": cataract,
        "glaucoma": glaucoma,
        "li": li,
        "capacity": capacity,
        "doctor_away": doctor_away,
        "maintenance": maintenance,
        "warning": warning,
        "info": info,
    }


def test_status_json_exact_content(clinic, client, django_assert_max_num_queries):
    c = clinic

    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/status")

    assert response.status_code == 200
    closed_online = {"state": "closed", "closures": [c["capacity"].pk]}
    open_ = {"state": "open", "closures": []}
    partial = {"state": "partial", "closures": [c["doctor_away"].pk]}
    assert response.json() == {
        "generated_at": "2026-11-23T09:00:00+08:00",
        "status_page": "/status",
        "departments": [
            {
                "code": "ophthalmology",
                "name": "眼科",
                "name_en": "Ophthalmology",
                "parent": None,
                "channels": {"online": closed_online, "phone": open_, "walkin": open_},
            },
            {
                "code": "cataract",
                "name": "白内障专科",
                "name_en": "Cataract clinic",
                "parent": "ophthalmology",
                "channels": {"online": closed_online, "phone": open_, "walkin": open_},
            },
            {
                "code": "glaucoma",
                "name": "青光眼专科",
                "name_en": "Glaucoma clinic",
                "parent": None,
                "channels": {"online": partial, "phone": partial, "walkin": open_},
            },
        ],
        "closures": [
            {
                "id": c["capacity"].pk,
                "scope": "department",
                "target": {"zh-hans": "眼科", "en": "Ophthalmology"},
                "department": "ophthalmology",
                "channels": ["online"],
                "reason": "capacity",
                "starts_at": "2026-11-23T08:00:00+08:00",
                "ends_at": "2026-11-23T18:00:00+08:00",
                "current": True,
                "notice": {
                    "zh-hans": "眼科线上预约暂停。",
                    "en": "Online booking for ophthalmology is paused.",
                },
            },
            {
                "id": c["doctor_away"].pk,
                "scope": "doctor",
                "target": {"zh-hans": "李秀英", "en": "Li Xiuying"},
                "department": "glaucoma",
                "channels": ["online", "phone"],
                "reason": "doctor_unavailable",
                "starts_at": "2026-11-23T08:00:00+08:00",
                "ends_at": None,
                "current": True,
                "notice": {"zh-hans": "李医生外出会诊。", "en": "Dr Li is away."},
            },
            {
                "id": c["maintenance"].pk,
                "scope": "hospital",
                "target": None,
                "department": None,
                "channels": ["online"],
                "reason": "maintenance",
                "starts_at": "2026-11-24T22:00:00+08:00",
                "ends_at": "2026-11-25T02:00:00+08:00",
                "current": False,
                "notice": {"zh-hans": "系统维护。", "en": "System maintenance."},
            },
        ],
        "notices": [
            {
                "id": c["warning"].pk,
                "severity": "warning",
                "title": {"zh-hans": "春节门诊安排", "en": "Spring Festival hours"},
                "body": {
                    "zh-hans": "除夕仅开放急诊。",
                    "en": "Only the emergency department is open on New Year's Eve.",
                },
                "starts_at": "2026-11-22T09:00:00+08:00",
                "ends_at": "2026-11-24T09:00:00+08:00",
            },
            {
                "id": c["info"].pk,
                "severity": "info",
                "title": {"zh-hans": "新院区开诊", "en": "New campus open"},
                "body": {
                    "zh-hans": "东院区眼科已开诊。",
                    "en": "The east campus eye clinic is open.",
                },
                "starts_at": "2026-11-23T08:00:00+08:00",
                "ends_at": None,
            },
        ],
    }


def test_status_json_needs_no_sign_in_and_ignores_a_bad_session(clinic, client):
    client.cookies["sessionid"] = "not-a-session"
    assert client.get("/api/v1/status").status_code == 200


def test_status_page_in_english(clinic, client):
    response = client.get("/status", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en" class="text-normal">' in html
    assert "Online booking for ophthalmology is paused." in html
    assert "Dr Li is away." in html
    assert "System maintenance." in html
    assert "Spring Festival hours" in html
    assert [n["id"] for n in response.context["notices"]] == [
        clinic["warning"].pk,
        clinic["info"].pk,
    ]
    assert [c["id"] for c in response.context["current_closures"]] == [
        clinic["capacity"].pk,
        clinic["doctor_away"].pk,
    ]
    assert [c["id"] for c in response.context["planned_closures"]] == [clinic["maintenance"].pk]
    glaucoma = next(r for r in response.context["rows"] if r["department"].code == "glaucoma")
    assert glaucoma["name"] == "Glaucoma clinic"
    assert [(ch["value"], ch["state"]) for ch in glaucoma["channels"]] == [
        ("online", "partial"),
        ("phone", "partial"),
        ("walkin", "open"),
    ]
    assert 'data-department="ophthalmology"' in html
    assert 'data-channel="online" data-state="closed"' in html


def test_status_page_in_chinese(clinic, client):
    response = client.get("/status", HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = response.content.decode()
    assert '<html lang="zh-hans" class="text-normal">' in html
    assert "眼科线上预约暂停。" in html
    assert "系统维护。" in html
    assert "春节门诊安排" in html
    assert "Online booking for ophthalmology is paused." not in html


def test_status_page_with_nothing_closed(clock, client):
    factories.DepartmentFactory(code="ophthalmology")

    response = client.get("/status", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "All ways of booking are open." in response.content.decode()


def test_banner_on_every_page_in_the_page_language(clinic, client):
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    banner_en = english.split('class="banner"', 1)[1].split("</section>", 1)[0]
    banner_zh = chinese.split('class="banner"', 1)[1].split("</section>", 1)[0]
    assert "Spring Festival hours" in banner_en
    assert "Online booking for ophthalmology is paused." in banner_en
    assert "until 2026-11-23 18:00" in banner_en
    # planned maintenance tomorrow night is announced ahead
    assert "Booking closes from 2026-11-24 22:00:" in banner_en
    assert "System maintenance." in banner_en
    assert "Dr Li is away." in banner_en
    assert "春节门诊安排" in banner_zh
    assert "眼科线上预约暂停。" in banner_zh


def test_banner_is_absent_when_there_is_nothing_to_say(clock, client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="banner"' not in html


def test_channel_states_selector(clinic):
    states = selectors.channel_states(now=NOW)

    assert [
        (s["department"].code, {k: v["state"] for k, v in s["channels"].items()}) for s in states
    ] == [
        ("ophthalmology", {"online": "closed", "phone": "open", "walkin": "open"}),
        ("cataract", {"online": "closed", "phone": "open", "walkin": "open"}),
        ("glaucoma", {"online": "partial", "phone": "partial", "walkin": "open"}),
    ]


def test_notice_list_active_most_severe_first(clinic):
    assert list(selectors.notice_list_active(now=NOW)) == [clinic["warning"], clinic["info"]]
    assert list(selectors.notice_list_active(now=NOW + 2 * DAY)) == [
        Notice.objects.get(title_en="Future"),
        clinic["info"],
    ]


def test_closure_list_current_and_planned_horizon(clinic):
    ids = [c.pk for c in selectors.closure_list_current_and_planned(now=NOW, days_ahead=1)]
    assert ids == [clinic["capacity"].pk, clinic["doctor_away"].pk]


# --- signs on site ------------------------------------------------------------------


def test_closure_sign_is_a_printable_a4_page_in_both_languages(clinic, admin_client, settings):
    settings.YUYUE_HOSPITAL_PHONE = "010-8888-6666"
    settings.YUYUE_WALKIN_WINDOWS = "门诊楼 1 层 1–6 号窗口 / Windows 1–6"
    settings.YUYUE_WALKIN_HOURS = "7:00–16:30"
    settings.YUYUE_PUBLIC_URL = "https://yuyue.example.org"
    closure = clinic["capacity"]

    response = admin_client.get(f"/signs/closure/{closure.pk}")

    assert response.status_code == 200
    html = response.content.decode()
    assert "css/sign.css" in html
    assert '<section class="sign__half" lang="zh-Hans">' in html
    assert '<section class="sign__half sign__half--second" lang="en">' in html
    assert "眼科线上预约暂停。" in html
    assert "Online booking for ophthalmology is paused." in html
    assert "眼科" in html and "Ophthalmology" in html
    assert "Not enough doctors for the booked load" in html
    assert "Until 2026-11-23 18:00 (Beijing time)" in html
    assert "010-8888-6666" in html
    assert "门诊楼 1 层 1–6 号窗口 / Windows 1–6" in html
    assert "7:00–16:30" in html
    assert (
        '<svg class="sign__qr-code" role="img" aria-label="QR code: https://yuyue.example.org/status"'
        in html
    )
    assert "<path" in html
    assert "<script" not in html


def test_sign_stylesheet_prints_on_a4():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "sign.css").read_text()
    assert "@page {\n  size: A4;" in css


def test_session_sign_for_a_stopped_session(clock, admin_client):
    session = factories.SessionFactory(
        status=Session.Status.STOPPED,
        stop_reason="医生外出会诊",
        doctor__name="王建国",
        doctor__name_en="Wang Jianguo",
    )

    response = admin_client.get(f"/signs/session/{session.pk}")

    assert response.status_code == 200
    html = response.content.decode()
    assert "王建国" in html and "Wang Jianguo" in html
    assert "医生外出会诊" in html
    assert "Clinic session stopped" in html
    assert 'class="sign__qr-code"' in html
    assert "http://testserver/status" in html


def test_no_sign_for_an_open_session(clock, admin_client):
    session = factories.SessionFactory()
    assert admin_client.get(f"/signs/session/{session.pk}").status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "patient"])
def test_signs_are_for_staff_only(clinic, client, patient, who):
    if who == "patient":
        client.force_login(patient.account)

    response = client.get(f"/signs/closure/{clinic['capacity'].pk}")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- the staff closure API ------------------------------------------------------------


def closure_payload(department, **overrides) -> dict:
    return {
        "scope": "department",
        "target_id": department.pk,
        "channels": ["online"],
        "ends_at": "2026-11-23T18:00:00+08:00",
        "reason": "capacity",
        "notice": "眼科线上预约暂停。",
        "notice_en": "Online booking is paused.",
        **overrides,
    }


@pytest.fixture
def ops(db):
    """A staff member in the ops role: may view, add and change closures."""
    from django.contrib.auth.models import Permission

    user = factories.StaffFactory()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="booking",
            codename__in=["view_closure", "add_closure", "change_closure"],
        )
    )
    return user


@pytest.mark.parametrize("who", ["anonymous", "patient", "staff without the ops role"])
def test_staff_api_refuses_everyone_but_ops(clock, client, patient, staff, who):
    department = factories.DepartmentFactory()
    if who == "patient":
        client.force_login(patient.account)
    if who.startswith("staff"):
        client.force_login(staff)

    created = client.post(
        "/api/v1/staff/closures", closure_payload(department), content_type="application/json"
    )
    listed = client.get("/api/v1/staff/closures")

    # Signed out: 401 with the Bearer challenge; signed in without the role: 403.
    expected = 401 if who == "anonymous" else 403
    assert created.status_code == listed.status_code == expected
    assert created.json()["code"] == (
        "not_authenticated" if expected == 401 else "permission_denied"
    )
    assert not Closure.objects.exists()


def test_staff_api_creates_lists_and_reopens(clock, client, ops):
    department = factories.DepartmentFactory()
    client.force_login(ops)

    created = client.post(
        "/api/v1/staff/closures", closure_payload(department), content_type="application/json"
    )

    assert created.status_code == 201, created.json()
    closure = Closure.objects.get()
    assert created.json() == {
        "id": closure.pk,
        "scope": "department",
        "target_id": department.pk,
        "channels": ["online"],
        "starts_at": "2026-11-23T09:00:00+08:00",
        "ends_at": "2026-11-23T18:00:00+08:00",
        "reopened_at": None,
        "reason": "capacity",
        "notice": "眼科线上预约暂停。",
        "notice_en": "Online booking is paused.",
        "release_places": False,
        "return_places": False,
        "is_active": True,
        "sign_url": f"/signs/closure/{closure.pk}",
    }
    assert closure.created_by == ops

    listed = client.get("/api/v1/staff/closures")
    assert [c["id"] for c in listed.json()] == [closure.pk]

    reopened = client.post(
        f"/api/v1/staff/closures/{closure.pk}/reopen", {}, content_type="application/json"
    )
    assert reopened.status_code == 200
    assert reopened.json()["reopened_at"] == "2026-11-23T09:00:00+08:00"
    assert reopened.json()["is_active"] is False


def test_staff_api_refusals_are_code_and_detail(clock, client, ops):
    department = factories.DepartmentFactory()
    client.force_login(ops)

    no_channel = client.post(
        "/api/v1/staff/closures",
        closure_payload(department, channels=[]),
        content_type="application/json",
    )
    hospital_with_target = client.post(
        "/api/v1/staff/closures",
        closure_payload(department, scope="hospital"),
        content_type="application/json",
    )
    unknown_target = client.post(
        "/api/v1/staff/closures",
        closure_payload(department, target_id=987654),
        content_type="application/json",
    )

    assert no_channel.status_code == 400
    assert no_channel.json() == {
        "code": "closure_no_channel",
        "detail": "Choose at least one channel to close: online, phone or walk-in.",
    }
    assert hospital_with_target.json()["code"] == "closure_target_mismatch"
    assert unknown_target.json()["code"] == "closure_target_mismatch"
    assert not Closure.objects.exists()


def test_staff_api_reopen_of_an_ended_closure(clock, client, ops):
    closure = closures.closure_create(
        scope=Closure.Scope.HOSPITAL,
        target=None,
        channels=["online"],
        starts_at=NOW,
        ends_at=NOW + HOUR,
        reason="maintenance",
        notice="维护",
        notice_en="Maintenance",
        release_places=False,
        created_by=ops,
    )
    clock.move_to(NOW + 2 * HOUR)
    client.force_login(ops)

    response = client.post(
        f"/api/v1/staff/closures/{closure.pk}/reopen", {}, content_type="application/json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "closure_already_ended"


def test_without_a_verified_second_factor_staff_pages_refuse(clinic, client, ops, settings):
    settings.YUYUE_ADMIN_REQUIRE_OTP = True
    client.force_login(ops)  # signed in with a password only: not verified

    sign = client.get(f"/signs/closure/{clinic['capacity'].pk}")
    api = client.get("/api/v1/staff/closures")

    assert sign.status_code == 302
    assert api.status_code == 403
