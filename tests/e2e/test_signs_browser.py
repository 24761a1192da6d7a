"""The printed signs fit one A4 sheet, whatever the notice's length within its limit.

Each sign is printed to PDF by Chromium, as a member of staff would print it from the
admin, and its pages are counted.
"""

import datetime
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser

from booking.services import closures as closure_services
from booking.services import session_stop
from booking.services.closures import NOTICE_MAX_LENGTH
from clinics.models import Department, Session
from tests.factories import DepartmentFactory, SessionFactory, StaffFactory

SHORT = ("系统维护。", "System maintenance.")
ORDINARY = (
    "白内障专科今日医生不足，线上预约暂停。已预约的患者请按时就诊；"
    "其他患者请拨打电话预约，或于当天到门诊楼一层挂号窗口现场挂号。",
    "Too few cataract doctors today: online booking is paused. Patients who have booked "
    "keep their appointments; everyone else please book by phone or register on the day "
    "at the windows on the ground floor of the outpatient building.",
)
# As long as the form and the service allow, in both languages.
LONGEST = (
    ("因信息系统升级维护，线上预约与电话预约暂停服务，已预约的患者不受影响，请按时就诊。" * 20)[
        :NOTICE_MAX_LENGTH
    ],
    (
        "Because the information system is being upgraded, online and telephone booking "
        "are paused; patients who already booked are not affected and should come on time. " * 10
    )[:NOTICE_MAX_LENGTH],
)
CLINIC = ("白内障与屈光手术专科门诊", "Cataract and refractive surgery clinic")
# A clinic's names as long as the catalogue allows, to go with the longest notices.
LONGEST_CLINIC = (
    ("白内障与屈光手术及眼底病专科门诊" * 5)[: Department._meta.get_field("name").max_length],
    ("Cataract, refractive surgery and retina clinic, " * 5)[
        : Department._meta.get_field("name_en").max_length
    ].strip(),
)
CLOSURE_CASES = {
    "short": (SHORT, CLINIC),
    "ordinary": (ORDINARY, CLINIC),
    "longest": (LONGEST, LONGEST_CLINIC),
}
STOP_REASONS = {
    "short": "医生外出会诊",
    "ordinary": "主诊医生临时参加院外紧急会诊，本次门诊停诊，已预约患者将收到短信通知。",
    "longest": ("主诊医生临时参加院外紧急会诊，本次门诊停诊，已预约患者将收到短信通知。" * 6)[:200],
}


def pdf_pages(pdf: bytes) -> int:
    """Page objects (`/Type /Page`, not the `/Type /Pages` tree) in a PDF from Chromium."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def _signed_in_context(browser: Browser, live_server, locale: str):
    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="print_sign"))
    client = Client()
    client.force_login(staff)
    context = browser.new_context(locale=locale)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


# In print layout on A4 (186 mm x 273 mm inside the sign's 12 mm margins, in CSS pixels):
# does any part of the sign run past its box, that is, would be cut off on paper?
A4_INSIDE_MARGINS = {"width": 703, "height": 1032}
CUT_OFF = """() => {
  const sign = document.querySelector(".sign");
  const parts = [...sign.querySelectorAll(".sign__half, .sign__help")];
  const bottom = sign.getBoundingClientRect().bottom + 1;
  return parts.some((part) => part.scrollHeight > part.clientHeight + 1)
    || document.querySelector(".sign__footer").getBoundingClientRect().bottom > bottom;
}"""


def _print(context, url: str) -> tuple[bytes, bool]:
    """The sign at `url` printed on A4 by Chromium, and whether anything was cut off."""
    page = context.new_page()
    response = page.goto(url)
    assert response is not None and response.status == 200
    pdf = page.pdf(format="A4", print_background=True)
    page.emulate_media(media="print")
    page.set_viewport_size(A4_INSIDE_MARGINS)
    return pdf, page.evaluate(CUT_OFF)


def test_pdf_pages_counts_page_objects_only():
    pdf = b"<< /Type /Pages /Kids [3 0 R 4 0 R] >> << /Type /Page >> << /Type/Page /Parent 2 0 R >>"

    assert pdf_pages(pdf) == 2


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
@pytest.mark.parametrize("case", CLOSURE_CASES.values(), ids=CLOSURE_CASES.keys())
def test_closure_sign_prints_on_one_a4_page(live_server, browser: Browser, settings, locale, case):
    # given a closure of a sub-clinic with a notice of the given length
    settings.YUYUE_ADMIN_REQUIRE_OTP = False
    notice, names = case
    department = DepartmentFactory(name=names[0], name_en=names[1])
    closure = closure_services.closure_create(
        scope="department",
        target=department,
        channels=["online", "phone"],
        starts_at=timezone.now(),
        ends_at=timezone.now() + datetime.timedelta(days=2),
        reason="capacity",
        notice=notice[0],
        notice_en=notice[1],
        release_places=False,
        created_by=None,
    )
    context = _signed_in_context(browser, live_server, locale)
    try:
        # when staff print its sign on A4
        pdf, cut_off = _print(context, f"{live_server.url}/signs/closure/{closure.pk}")
    finally:
        context.close()

    # then it is one sheet, with nothing cut off
    assert pdf_pages(pdf) == 1
    assert not cut_off


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
@pytest.mark.parametrize("reason", STOP_REASONS.values(), ids=STOP_REASONS.keys())
def test_stopped_session_sign_prints_on_one_a4_page(
    live_server, browser: Browser, settings, locale, reason
):
    # given a stopped session, its reason of the given length
    settings.YUYUE_ADMIN_REQUIRE_OTP = False
    names = LONGEST_CLINIC if reason == STOP_REASONS["longest"] else CLINIC
    session = SessionFactory(department=DepartmentFactory(name=names[0], name_en=names[1]))
    staff = StaffFactory()
    assert session_stop(session=session, reason=reason, stopped_by=staff).stopped
    assert Session.objects.get(pk=session.pk).stop_reason == reason
    context = _signed_in_context(browser, live_server, locale)
    try:
        # when staff print its sign on A4
        pdf, cut_off = _print(context, f"{live_server.url}/signs/session/{session.pk}")
    finally:
        context.close()

    # then it is one sheet, with nothing cut off
    assert pdf_pages(pdf) == 1
    assert not cut_off
