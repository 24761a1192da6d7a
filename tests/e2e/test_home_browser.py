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


def _seed() -> Session:
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
def test_home_page_in_a_real_browser(live_server, browser: Browser):
    # given a clinic with a session tomorrow: online 12 - 5, phone 2, walk-in 6
    session = _seed()
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()

    try:
        # when a Chinese-speaking visitor opens the home page
        page.goto(live_server.url + "/")

        # then the page is in Chinese, and the doctor and the places left are visible
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        card = page.locator(".session").filter(has_text=session.doctor.name)
        expect(card).to_be_visible()
        expect(card.locator('dd[data-channel="online"]')).to_have_text("7")
        expect(card.locator('dd[data-channel="phone"]')).to_have_text("2")
        expect(card.locator('dd[data-channel="walkin"]')).to_have_text("6")
        expect(page.locator(".session--stopped")).to_contain_text("医生外出会诊")
        expect(page.locator(".red-flag")).to_be_visible()
        # Django's own zh-hans catalogue names the weekdays: 星期一 ... 星期日
        expect(page.locator(".day__heading").first).to_contain_text("星期")

        # large text: the base font is at least 18 px
        font_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert font_size >= 18

        # the README's screenshot: the Chinese page at a desktop size
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT)

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
        expect(
            page.get_by_role("heading", level=2, name="Clinic sessions in the coming week")
        ).to_be_visible()
        expect(page.get_by_role("heading", level=2, name="Doctors")).to_be_visible()
        weekday = f"{session.date:%A}, {session.date:%B} {session.date.day}"
        expect(page.locator(".day__heading").first).to_contain_text(weekday)
        expect(page.locator(".session").filter(has_text="Wang Jianguo")).to_be_visible()
    finally:
        context.close()
