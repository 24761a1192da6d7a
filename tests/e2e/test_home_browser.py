import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from clinics.models import ClinicLevel, Doctor, HalfDay, Quota, Session
from tests.factories import (
    SHANGHAI,
    DepartmentFactory,
    DoctorFactory,
    RoomFactory,
    SessionFactory,
    slot_with_quotas,
)

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "home.png"


def seed_clinic() -> Session:
    """A small eye clinic: two sub-clinics, three doctors, three sessions; returns tomorrow's."""
    ophthalmology = DepartmentFactory(
        code="ophthalmology",
        name="眼科",
        name_en="Ophthalmology",
        location="门诊楼三层",
        sort_order=1,
    )
    cataract = DepartmentFactory(
        code="cataract",
        name="白内障专科",
        name_en="Cataract clinic",
        parent=ophthalmology,
        sort_order=2,
    )
    glaucoma = DepartmentFactory(
        code="glaucoma",
        name="青光眼专科",
        name_en="Glaucoma clinic",
        parent=ophthalmology,
        sort_order=3,
    )
    wang = DoctorFactory(
        department=cataract,
        name="王建国",
        name_en="Wang Jianguo",
        title=Doctor.Title.CHIEF,
        level=ClinicLevel.EXPERT,
        fee=Decimal("50.00"),
        specialties="白内障超声乳化手术",
    )
    li = DoctorFactory(
        department=glaucoma,
        name="李秀英",
        name_en="Li Xiuying",
        title=Doctor.Title.ASSOCIATE_CHIEF,
        level=ClinicLevel.EXPERT,
        fee=Decimal("30.00"),
        specialties="青光眼, 视神经疾病",
    )
    zhang = DoctorFactory(
        department=ophthalmology,
        name="张伟",
        name_en="Zhang Wei",
        title=Doctor.Title.ATTENDING,
        level=ClinicLevel.GENERAL,
        fee=Decimal("10.00"),
        specialties="屈光不正, 干眼",
    )

    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    session = SessionFactory(
        doctor=wang, room=RoomFactory(department=cataract, code="3-12", name="第12诊室")
    )
    first = slot_with_quotas(session=session, online=6, phone=1, walkin=3)
    slot_with_quotas(
        session=session,
        starts_at=session.starts_at + datetime.timedelta(minutes=30),
        online=6,
        phone=1,
        walkin=3,
    )
    Quota.objects.filter(slot=first, channel="online").update(booked=5)

    afternoon = datetime.datetime.combine(tomorrow, datetime.time(13, 30), tzinfo=SHANGHAI)
    general = SessionFactory(
        doctor=zhang,
        room=RoomFactory(department=ophthalmology, code="3-05", name="第5诊室"),
        half_day=HalfDay.AFTERNOON,
        starts_at=afternoon,
        ends_at=afternoon + datetime.timedelta(hours=3, minutes=30),
    )
    slot_with_quotas(session=general, online=12, phone=2, walkin=6)

    SessionFactory(
        doctor=li,
        room=RoomFactory(department=glaucoma, code="3-08", name="第8诊室"),
        date=tomorrow + datetime.timedelta(days=1),
        status=Session.Status.STOPPED,
        stop_reason="医生外出会诊",
    )
    return session


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_start_page_fits_one_phone_screen(live_server, browser: Browser):
    # given a clinic with sessions; a Chinese-speaking visitor on a phone (390 x 844)
    seed_clinic()
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()

    try:
        # when the start page opens
        page.goto(live_server.url + "/")

        # then it is in Chinese and everything it offers is on the first screen
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        for part in (
            ".red-flag",
            ".red-flag summary",
            ".actions",
            ".home__phone",
            ".home__notices",
        ):
            box = page.locator(part).bounding_box()
            assert box is not None and box["y"] + box["height"] <= 844, part
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        font_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert font_size >= 18

        # the README's screenshot: the Chinese start page at phone width
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT)

        # the full red-flag list is one tap away, without JavaScript
        expect(page.get_by_text("突然看不见或视力突然下降")).to_be_hidden()
        page.locator(".red-flag summary").click()
        expect(page.get_by_text("突然看不见或视力突然下降")).to_be_visible()
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browse_a_department_in_a_real_browser(live_server, browser: Browser):
    # given a clinic with a session tomorrow: online 12 - 5, phone 2, walk-in 6
    session = seed_clinic()
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()

    try:
        # when a Chinese-speaking visitor goes from the start page to the cataract clinic
        page.goto(live_server.url + "/")
        page.locator(".actions a[href='/clinics/']").click()
        page.get_by_role("link", name="白内障专科").first.click()

        # then the doctor and the places left are visible, in words
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        # (`name` would be the pinyin here: the tests run in English.)
        card = page.locator(f"#doctor-{session.doctor_id} .session")
        expect(card).to_be_visible()
        expect(card.locator('dd[data-channel="online"]')).to_have_text("有号 7")
        expect(card.locator('dd[data-channel="phone"]')).to_have_text("有号 2")
        expect(card.locator('dd[data-channel="walkin"]')).to_have_text("有号 6")
        expect(page.locator(f"#doctor-{session.doctor_id} .doctor__next")).to_contain_text("7")
        # Django's own zh-hans catalogue names the weekdays: 星期一 ... 星期日
        expect(card.locator(".session__day")).to_contain_text("星期")
        # the jump link leads to the doctor
        page.locator(f"a[href='#doctor-{session.doctor_id}']").click()
        assert page.url.endswith(f"#doctor-{session.doctor_id}")

        # the glaucoma clinic shows its stopped session
        page.goto(live_server.url + "/clinics/glaucoma/")
        expect(page.locator(".session--stopped")).to_contain_text("医生外出会诊")

        # and at 320 px wide nothing scrolls sideways, and the buttons are easy to tap
        page.set_viewport_size({"width": 320, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        heights = page.locator(".language-switcher button").evaluate_all(
            "buttons => buttons.map(b => b.getBoundingClientRect().height)"
        )
        assert heights
        assert min(heights) >= 44

        # when the visitor picks English in the switcher
        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_role("button", name="English").click()

        # then the page comes back in English
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_role("heading", level=2, name="Doctors")).to_be_visible()
        page.goto(live_server.url + "/clinics/cataract/")
        expect(page.locator(f"#doctor-{session.doctor_id}")).to_contain_text("Wang Jianguo")
        card = page.locator(f"#doctor-{session.doctor_id} .session")
        weekday = f"{session.date:%A}, {session.date:%B} {session.date.day}"
        expect(card.locator(".session__day")).to_contain_text(weekday)
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_text_size_switch_is_remembered_without_javascript(live_server, browser: Browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()

    try:
        page.goto(live_server.url + "/clinics/")
        size = "parseFloat(getComputedStyle(document.body).fontSize)"

        page.locator(".text-size-switcher button[value=xlarge]").click()

        assert page.url == live_server.url + "/clinics/"
        expect(page.locator("html")).to_have_class("text-xlarge")
        expect(page.locator(".text-size-switcher button[value=xlarge]")).to_have_attribute(
            "aria-pressed", "true"
        )
        page.goto(live_server.url + "/")
        assert page.evaluate(size) >= 30
        page.locator(".text-size-switcher button[value=large]").click()
        assert 24 <= page.evaluate(size) < 30
        page.locator(".text-size-switcher button[value=normal]").click()
        assert 18 <= page.evaluate(size) < 24
    finally:
        context.close()
