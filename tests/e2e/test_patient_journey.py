"""The patient's whole journey in Debian's Chromium against the live server: sign in with
the code from the SMS outbox, add a family member, the red-flag check, the five booking
steps, the confirmation and its .ics file, My bookings, cancel and undo, reschedule,
the waitlist; refusals (slot filled meanwhile, channel closed, suspended patient) with
their message and alternatives; the same in English; at 320 px in extra-large text with
the accessibility budget on every signed-in page.

The live server runs in real time, so the clinic is made relative to now: tomorrow's
morning session (three half-hour bands) and a full session the day after.

`YUYUE_SCREENSHOTS=1` also writes the phone-width screenshots of docs/patients.md into
docs/screenshots/ (left alone otherwise: the pictures carry dates).
"""

import datetime
import functools
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from booking.models import Booking, Closure, WaitlistEntry
from booking.services import booking_create, waitlist_join
from booking.services.closures import closure_create
from clinics.models import Channel, ClinicLevel, Doctor, Quota, Session, Slot
from patients.models import Account, Patient
from tests.e2e import a11y
from tests.factories import (
    DepartmentFactory,
    DoctorFactory,
    PatientFactory,
    RoomFactory,
    SessionFactory,
    StaffFactory,
    resident_id,
    slot_with_quotas,
)
from tests.patients.helpers import last_code

pytestmark = [pytest.mark.browser, pytest.mark.axe, pytest.mark.django_db(transaction=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE = "13912345678"
HALF_HOUR = datetime.timedelta(minutes=30)
SCREENSHOTS = os.environ.get("YUYUE_SCREENSHOTS") == "1"
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# The family member: a mother born 8 May 1950 (an even sequence: a woman).
MOTHER = "李桂兰"
MOTHER_ID = resident_id(birth_date=datetime.date(1950, 5, 8), sequence=2)


@dataclass
class Clinic:
    department: object
    doctor: Doctor
    session: Session  # tomorrow 08:00–09:30, three bands with 2 online places each
    slots: list[Slot]
    full: Session  # the day after, 08:00, its one online place taken


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture
def clinic() -> Clinic:
    ophthalmology = DepartmentFactory(
        code="ophthalmology", name="眼科", name_en="Ophthalmology", location="门诊楼三层"
    )
    cataract = DepartmentFactory(
        code="cataract",
        name="白内障专科",
        name_en="Cataract clinic",
        parent=ophthalmology,
        location="门诊楼三层东区",
    )
    doctor = DoctorFactory(
        department=cataract,
        name="王建国",
        name_en="Wang Jianguo",
        title=Doctor.Title.CHIEF,
        level=ClinicLevel.EXPERT,
        fee=Decimal("50.00"),
        specialties="白内障超声乳化手术",
    )
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    room = RoomFactory(department=cataract, code="3-12", name="第12诊室")
    session = SessionFactory(
        doctor=doctor,
        room=room,
        date=tomorrow,
        starts_at=at(tomorrow, 8),
        ends_at=at(tomorrow, 9, 30),
    )
    slots = [
        slot_with_quotas(
            session=session, starts_at=at(tomorrow, 8) + n * HALF_HOUR, online=2, phone=1, walkin=2
        )
        for n in range(3)
    ]
    later = tomorrow + datetime.timedelta(days=1)
    full = SessionFactory(
        doctor=doctor, room=room, date=later, starts_at=at(later, 8), ends_at=at(later, 8, 30)
    )
    full_slot = slot_with_quotas(session=full, online=1, walkin=1)
    other = PatientFactory()
    booking_create(
        patient=other, slot=full_slot, channel=Channel.ONLINE, requested_by=other.account
    )
    return Clinic(cataract, doctor, session, slots, full)


new_page = functools.partial(a11y.new_page, width=390, height=844, accept_downloads=True)


def shot(page: Page, name: str) -> None:
    """Write docs/screenshots/<name>.png (only with YUYUE_SCREENSHOTS=1)."""
    if SCREENSHOTS:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT_DIR / f"{name}.png", full_page=True)


def submit(page: Page) -> None:
    page.locator("main button[type=submit]").last.click()


def sign_in(
    page: Page, live_server, *, next_path: str = "", language: str = "zh-hans", pictures=False
):
    url = f"{live_server.url}/account/sign-in"
    page.goto(url + (f"?next={next_path}" if next_path else ""))
    page.locator("#id_phone").fill(PHONE)
    page.locator(f"input[name=language][value={language}]").check()
    page.locator("button[type=submit].button--primary").click()
    expect(page.locator("#id_code")).to_be_visible()
    if pictures:
        shot(page, "patient-sign-in-code")
    page.locator("#id_code").fill(last_code(PHONE))
    page.locator("button[type=submit].button--primary").click()


def add_self(name="张明") -> Patient:
    """The account holder as a patient, straight into the database (the account exists)."""
    return PatientFactory(
        account=Account.objects.get(phone=PHONE), real_name=name, relationship="self"
    )


def book(page: Page, live_server, clinic: Clinic, *, slot: Slot, patient: Patient | None = None):
    """The red-flag check and the five steps up to the confirm page of `slot`."""
    page.goto(f"{live_server.url}/book/")
    page.locator("input[name=red_flags][value=no]").check()
    submit(page)
    page.locator(f"[data-department='{clinic.department.pk}'] > a").click()
    page.locator(f"[data-doctor='{clinic.doctor.pk}'] > a").click()
    page.locator(f"[data-session='{slot.session_id}'] a.book-list__link").click()
    page.locator(f"[data-slot='{slot.pk}'] a").click()
    expect(page.locator("#confirm-form")).to_be_visible()
    if patient is not None:
        page.locator(f"#patient-{patient.pk}").check()


def test_the_whole_journey_in_chinese(live_server, browser, clinic):
    context, page = new_page(browser, live_server)
    try:
        # the start page; sign in with the code from the SMS, back to the booking start
        page.goto(live_server.url + "/")
        shot(page, "patient-start")
        sign_in(page, live_server, next_path="/account/patients/add", pictures=True)
        page.wait_for_url(f"{live_server.url}/account/patients/add")
        account = Account.objects.get(phone=PHONE)
        assert account.language == "zh-hans"

        # add a family member: the mother, by resident ID (birth date and sex from the number)
        page.locator("#id_real_name").fill(MOTHER)
        page.locator("input[name=relationship][value=parent]").check()
        page.locator("input[name=document_type][value=resident_id]").check()
        page.locator("#id_document_number").fill(MOTHER_ID)
        submit(page)
        page.wait_for_url(f"{live_server.url}/account/patients/")
        expect(page.locator("main")).to_contain_text(MOTHER)
        mother = Patient.objects.get(account=account, real_name=MOTHER)
        assert (mother.birth_date, mother.sex) == (datetime.date(1950, 5, 8), "F")

        # the red-flag check, then the five steps, for the mother
        page.goto(f"{live_server.url}/book/")
        page.locator("input[name=red_flags][value=no]").check()
        submit(page)
        expect(page.locator(".page-title")).to_have_text("选择科室")
        page.locator(f"[data-department='{clinic.department.pk}'] > a").click()
        expect(page.locator(f"[data-doctor='{clinic.doctor.pk}']")).to_contain_text("王建国")
        page.locator(f"[data-doctor='{clinic.doctor.pk}'] > a").click()
        open_session = page.locator(f"[data-session='{clinic.session.pk}']")
        expect(open_session).to_have_attribute("data-state", "open")
        expect(page.locator(f"[data-session='{clinic.full.pk}']")).to_have_attribute(
            "data-state", "full"
        )
        shot(page, "patient-book-day")
        open_session.locator("a.book-list__link").click()
        first = clinic.slots[0]
        page.locator(f"[data-slot='{first.pk}'] a").click()
        page.locator(f"#patient-{mother.pk}").check()
        shot(page, "patient-confirm")
        submit(page)

        # the confirmation: the code, large, and the queue number
        booking = Booking.objects.get(patient=mother)
        page.wait_for_url(f"{live_server.url}/book/booking/{booking.code}/")
        expect(page.locator("[data-field=code]")).to_have_text(booking.code)
        expect(page.locator("[data-field=queue-number]")).to_have_text(str(booking.queue_number))
        expect(page.locator("[data-field=time]")).to_have_text("08:00–08:30")
        shot(page, "patient-confirmation")

        # the calendar file: the slot in Asia/Shanghai
        with page.expect_download() as download_info:
            page.locator("a[href$='calendar.ics']").click()
        download = download_info.value
        assert download.suggested_filename == f"booking-{booking.code}.ics"
        calendar = icalendar.Calendar.from_ical(Path(download.path()).read_bytes())
        (event,) = calendar.walk("VEVENT")
        assert event.decoded("dtstart").astimezone(SHANGHAI) == at(clinic.session.date, 8)
        assert event.decoded("dtend").astimezone(SHANGHAI) == at(clinic.session.date, 8, 30)
        assert booking.code in str(event.get("description", "")) + str(event.get("summary"))

        # My bookings shows it
        page.goto(f"{live_server.url}/book/mine/")
        card = page.locator(f"#booking-{booking.pk}")
        expect(card).to_contain_text(MOTHER)
        shot(page, "patient-my-bookings")

        # cancel (a confirmation step), then undo
        card.locator(f"a[href$='/mine/{booking.pk}/cancel/']").click()
        submit(page)
        expect(page.locator("[data-done=cancelled]")).to_be_visible()
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CANCELLED_BY_PATIENT
        page.locator(f"#booking-{booking.pk} form[action$='/undo/'] button").click()
        expect(page.locator("[data-done=undone]")).to_be_visible()
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CONFIRMED

        # reschedule to the third band of the same session
        page.locator(f"#booking-{booking.pk} a[href$='/mine/{booking.pk}/reschedule/']").click()
        page.locator(f"[data-session='{clinic.session.pk}'] a").click()
        third = clinic.slots[2]
        page.locator(f"#slot-{third.pk}").check()
        submit(page)
        expect(page.locator(f"[data-new-slot='{third.pk}']")).to_contain_text("09:00–09:30")
        submit(page)
        moved = Booking.objects.get(patient=mother, status=Booking.Status.CONFIRMED)
        assert moved.slot_id == third.pk
        page.wait_for_url(f"**/book/booking/{moved.code}/")
        expect(page.locator("[data-field=time]")).to_have_text("09:00–09:30")

        # the full session: join the waitlist for the mother, see the position, leave
        page.goto(f"{live_server.url}/book/session/?department={clinic.department.pk}")
        page.locator(f"[data-session='{clinic.full.pk}'] a[href*='waitlist']").click()
        page.locator(f"input[name=patient][value='{mother.pk}']").check()
        submit(page)
        entry = WaitlistEntry.objects.get(patient=mother)
        expect(page.locator("[data-done=joined]")).to_contain_text("1")
        expect(page.locator(f"#waitlist-{entry.pk} [data-position]")).to_have_attribute(
            "data-position", "1"
        )
        page.locator(f"#waitlist-{entry.pk} button").click()
        expect(page.locator("[data-done=left]")).to_be_visible()
        expect(page.locator(f"#waitlist-{entry.pk}")).to_have_count(0)
    finally:
        context.close()


def fill(slot: Slot) -> None:
    """Other patients take every online place of `slot` (through the real service)."""
    quota = Quota.objects.get(slot=slot, channel=Channel.ONLINE)
    for _ in range(quota.capacity - quota.booked):
        other = PatientFactory()
        booking_create(patient=other, slot=slot, channel=Channel.ONLINE, requested_by=other.account)


def test_a_refused_booking_says_why_and_offers_a_way_on(live_server, browser, clinic):
    context, page = new_page(browser, live_server)
    try:
        sign_in(page, live_server)
        page.wait_for_url(live_server.url + "/")
        me = add_self()
        first, second = clinic.slots[0], clinic.slots[1]
        refusal = page.locator(".book-refusal")

        # suspended after too many no-shows: the date it ends, nothing booked
        book(page, live_server, clinic, slot=first)
        until = timezone.localdate() + datetime.timedelta(days=30)
        Patient.objects.filter(pk=me.pk).update(suspended_until=until)
        submit(page)
        expect(refusal).to_have_attribute("data-code", "patient_suspended")
        expect(refusal).to_contain_text(f"{until.month}月{until.day}日")
        assert not Booking.objects.filter(patient=me).exists()
        Patient.objects.filter(pk=me.pk).update(suspended_until=None)

        # the band filled while the patient was deciding: the nearest free bands instead
        book(page, live_server, clinic, slot=first)
        fill(first)
        submit(page)
        expect(refusal).to_have_attribute("data-code", "slot_full")
        expect(page.locator(f"[data-alternative-slot='{first.pk}']")).to_have_count(0)
        alternative = page.locator(f"[data-alternative-slot='{second.pk}'] a")
        expect(alternative).to_contain_text("08:30–09:00")
        shot(page, "patient-refused-full")
        assert not Booking.objects.filter(patient=me).exists()
        alternative.click()
        submit(page)
        booked = Booking.objects.get(patient=me)
        assert booked.slot_id == second.pk
        page.wait_for_url(f"**/book/booking/{booked.code}/")

        # online booking closed meanwhile: the notice, the phone and the walk-in hours
        # (one booking per clinic and day and patient: this try is for the mother)
        mother = PatientFactory(
            account=me.account,
            real_name=MOTHER,
            relationship="parent",
            birth_date=datetime.date(1950, 5, 8),
            document_number=MOTHER_ID,
        )
        book(page, live_server, clinic, slot=clinic.slots[2], patient=mother)
        closure_create(
            scope=Closure.Scope.DEPARTMENT,
            target=clinic.department,
            channels=[Channel.ONLINE],
            starts_at=timezone.now() - HALF_HOUR,
            reason=Closure.Reason.MAINTENANCE,
            notice="系统维护，线上预约暂停。",
            notice_en="System maintenance: online booking is paused.",
            release_places=False,
            created_by=StaffFactory(),
        )
        submit(page)
        expect(refusal).to_have_attribute("data-code", "channel_closed")
        expect(refusal.locator("a[href^='tel:']")).to_be_visible()
        expect(refusal).to_contain_text("系统维护，线上预约暂停。")
        assert not Booking.objects.filter(patient=mother).exists()
    finally:
        context.close()


def test_the_same_booking_in_english(live_server, browser, clinic):
    context, page = new_page(browser, live_server, language="en")
    try:
        sign_in(page, live_server, language="en", next_path="/book/")
        page.wait_for_url(f"{live_server.url}/book/")
        assert Account.objects.get(phone=PHONE).language == "en"
        me = add_self(name="Zhang Ming")

        book(page, live_server, clinic, slot=clinic.slots[1])
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator(".page-title")).to_have_text("Check and confirm")
        expect(page.locator("main")).to_contain_text("Wang Jianguo")
        submit(page)

        booking = Booking.objects.get(patient=me)
        expect(page.locator(".book-confirmed")).to_have_text("Booking confirmed")
        expect(page.locator("[data-field=code]")).to_have_text(booking.code)
        expect(page.locator("[data-field=room]")).to_contain_text("Cataract clinic")
        page.goto(f"{live_server.url}/book/mine/")
        expect(page.locator(f"#booking-{booking.pk}")).to_contain_text("Zhang Ming")
        expect(page.locator(f"#booking-{booking.pk} .mine-card__title")).to_contain_text("08:30")
    finally:
        context.close()


def test_booking_at_320_px_in_extra_large_text(live_server, browser, clinic):
    context, page = new_page(browser, live_server, width=320, height=720)
    try:
        sign_in(page, live_server)
        page.wait_for_url(live_server.url + "/")
        me = add_self()

        # the text-size switch in the page header, remembered for every page after
        page.locator("button[name=size][value=xlarge]").click()
        expect(page.locator("html")).to_have_class("text-xlarge")
        expect(page.locator("button[name=size][value=xlarge]")).to_have_attribute(
            "aria-pressed", "true"
        )

        page.goto(f"{live_server.url}/book/")
        page.locator("input[name=red_flags][value=no]").check()
        submit(page)
        for step in (
            f"[data-department='{clinic.department.pk}'] > a",
            f"[data-doctor='{clinic.doctor.pk}'] > a",
            f"[data-session='{clinic.session.pk}'] a.book-list__link",
            f"[data-slot='{clinic.slots[0].pk}'] a",
        ):
            assert a11y.horizontal_overflow(page) == [], page.url
            assert a11y.small_text(page, minimum=a11y.MIN_FONT["xlarge"]) == [], page.url
            assert a11y.small_targets(page) == [], page.url
            page.locator(step).click()
        expect(page.locator("html")).to_have_class("text-xlarge")
        assert a11y.horizontal_overflow(page) == []
        submit(page)

        booking = Booking.objects.get(patient=me)
        expect(page.locator("[data-field=code]")).to_have_text(booking.code)
        assert a11y.horizontal_overflow(page) == []
        page.goto(f"{live_server.url}/book/mine/")
        expect(page.locator(f"#booking-{booking.pk}")).to_be_visible()
        assert a11y.horizontal_overflow(page) == []
        assert a11y.small_text(page, minimum=a11y.MIN_FONT["xlarge"]) == []
    finally:
        context.close()


def assert_accessible(page: Page, *, text_size: str) -> None:
    """a11y.assert_accessible, except that text hidden on purpose for screen readers
    (`.visually-hidden`: 1 px, clipped) does not count as clipped by text spacing: the
    shared probe reports it (the family list's "Edit <name>" links)."""
    a11y.assert_no_axe_violations(page)
    url = page.url
    failures = {
        "targets under 44 px": a11y.small_targets(page),
        "text under the mode's size": a11y.small_text(page, minimum=a11y.MIN_FONT[text_size]),
        "line height under 1.5": [] if a11y.body_line_height(page) >= 1.5 else ["body"],
        "overflow at 200 % zoom": a11y.zoom_200(page),
        "overflow at 320 px": a11y.reflow_at(page),
        "targets under 44 px at 320 px": a11y.small_targets(page),
        "clipped with text spacing": [
            found
            for found in a11y.clipped_by_text_spacing(page)
            if not found.endswith(".visually-hidden")
        ],
    }
    failures = {probe: found for probe, found in failures.items() if found}
    assert failures == {}, f"{url}: {failures}"


def signed_in_pages(clinic: Clinic) -> list[str]:
    """Every page of a signed-in patient, each in a state with something on it: the
    account holder and the mother; the mother booked tomorrow 08:00; the holder waiting
    for the full session; one message."""
    account = Account.objects.get(phone=PHONE)
    me = PatientFactory(account=account, real_name="张明", relationship="self")
    mother = PatientFactory(
        account=account,
        real_name=MOTHER,
        relationship="parent",
        birth_date=datetime.date(1950, 5, 8),
        document_number=MOTHER_ID,
    )
    first, second = clinic.slots[0], clinic.slots[1]
    booking = booking_create(
        patient=mother, slot=first, channel=Channel.ONLINE, requested_by=account
    )
    waitlist_join(patient=me, session=clinic.full, requested_by=account)
    department, doctor, session = clinic.department.pk, clinic.doctor.pk, clinic.session.pk
    return [
        "/account/patients/",
        "/account/patients/add",
        f"/account/patients/{mother.pk}/edit",
        f"/account/patients/{mother.pk}/remove",
        "/book/",
        "/book/?red_flags=yes",
        "/book/department/",
        f"/book/doctor/?department={department}",
        f"/book/session/?department={department}&doctor={doctor}",
        f"/book/slot/?department={department}&doctor={doctor}&session={session}",
        f"/book/confirm/?department={department}&session={session}&slot={second.pk}",
        f"/book/booking/{booking.code}/",
        "/book/mine/",
        f"/book/mine/{booking.pk}/cancel/",
        f"/book/mine/{booking.pk}/reschedule/",
        f"/book/mine/{booking.pk}/reschedule/?session={session}",
        f"/book/mine/{booking.pk}/reschedule/?session={session}&slot={second.pk}",
        f"/book/waitlist/join/?session={clinic.full.pk}",
        "/book/messages/",
    ]


@pytest.mark.parametrize(
    ("language", "text_size"), [("zh-hans", "normal"), ("en", "normal"), ("zh-hans", "large")]
)
def test_every_signed_in_page_meets_the_budget(
    live_server, browser, clinic, client, language, text_size
):
    account = Account.objects.create(username=PHONE, phone=PHONE)
    client.force_login(account)
    context, page = new_page(
        browser, live_server, language=language, text_size=text_size, width=1280, height=900
    )
    host = live_server.url.split("//", 1)[1].split(":")[0]
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "domain": host, "path": "/"}])
    try:
        for path in signed_in_pages(clinic):
            page.set_viewport_size({"width": 1280, "height": 900})
            response = page.goto(live_server.url + path)
            assert response.status == 200, path
            assert page.locator("html").get_attribute("lang") == language
            assert_accessible(page, text_size=text_size)
    finally:
        context.close()
