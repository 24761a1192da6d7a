"""Every message kind in both languages, exactly; Chinese SMS within one segment."""

import datetime

import icalendar
import pytest

from notifications.messages import TEXTS, calendar, render, sms_segments, subject

BOOKING = {
    "code": "ACDE3467",
    "patient": "张伟",
    "department": "眼科",
    "doctor": "王建国",
    "when": "2026-11-24 08:00",
    "queue_number": 3,
}
BOOKING_EN = {**BOOKING, "patient": "Zhang Wei", "department": "Ophthalmology", "doctor": "Wang"}
STOP = {**BOOKING, "reason": "医生临时有事", "alternatives": []}
STOP_EN = {**BOOKING_EN, "reason": "the doctor is ill", "alternatives": []}
ALTERNATIVE = {"doctor": "李明", "when": "2026-11-25 08:00", "level": "专家号"}
ALTERNATIVE_EN = {"doctor": "Li Ming", "when": "2026-11-25 08:00", "level": "expert"}
STANDING = {"patient": "张伟", "until": "2027-02-21", "count": 3}
STANDING_EN = {**STANDING, "patient": "Zhang Wei"}

CASES = [
    ("sign_in_code", {"code": "482913"}, "【预约】您的登录验证码是482913，请勿告诉他人。",
     {"code": "482913"}, "[Yuyue] Your sign-in code is 482913. Never share it with anyone."),
    ("booking_confirmed", BOOKING,
     "【预约】张伟预约成功：2026-11-24 08:00，眼科，王建国医生，第3号，预约号ACDE3467。带眼镜和旧报告，散瞳后勿驾车。",
     BOOKING_EN,
     "[Yuyue] Booking ACDE3467 confirmed: Zhang Wei, Ophthalmology, Dr Wang, 2026-11-24 08:00, "
     "queue no. 3. Bring your glasses and earlier reports. Do not drive after dilating eye drops."),
    ("booking_cancelled", BOOKING, "【预约】张伟在眼科2026-11-24 08:00的预约（预约号ACDE3467）已取消。",
     BOOKING_EN,
     "[Yuyue] Booking ACDE3467 for Zhang Wei on 2026-11-24 08:00 (Ophthalmology) is cancelled."),
    ("booking_rescheduled", BOOKING, "【预约】预约号ACDE3467已改至2026-11-24 08:00，眼科，王建国医生，第3号。",
     BOOKING_EN,
     "[Yuyue] Booking ACDE3467 moved to 2026-11-24 08:00, Ophthalmology, Dr Wang, queue no. 3."),
    ("booking_reminder", BOOKING,
     "【预约】提醒：张伟，2026-11-24 08:00，眼科，王建国医生，第3号，预约号ACDE3467。请提前30分钟到院签到。",
     BOOKING_EN,
     "[Yuyue] Reminder: Zhang Wei, 2026-11-24 08:00, Ophthalmology, Dr Wang, queue no. 3, "
     "booking ACDE3467. Please arrive 30 minutes early to check in."),
    ("booking_cancelled_by_hospital", STOP,
     "【预约】抱歉，因医生临时有事，张伟在王建国医生2026-11-24 08:00的预约ACDE3467已取消。详询010-0000-0000。",
     STOP_EN,
     "[Yuyue] Sorry: the hospital cancelled booking ACDE3467 for Zhang Wei (2026-11-24 08:00, "
     "Ophthalmology, Dr Wang). Reason: the doctor is ill. Please call 010-0000-0000 to rebook."),
    ("session_stopped", STOP,
     "【预约】王建国医生2026-11-24 08:00停诊（医生临时有事），张伟的预约ACDE3467已取消。详询010-0000-0000。",
     STOP_EN,
     "[Yuyue] Session stopped: Dr Wang (Ophthalmology) will not see patients at 2026-11-24 08:00. "
     "Reason: the doctor is ill. Booking ACDE3467 for Zhang Wei is cancelled. "
     "Please call 010-0000-0000 to rebook."),
    ("waitlist_booked", BOOKING,
     "【预约】候补成功：张伟，2026-11-24 08:00，眼科，王建国医生，第3号，预约号ACDE3467。",
     BOOKING_EN,
     "[Yuyue] Waitlist place booked: Zhang Wei, 2026-11-24 08:00, Ophthalmology, Dr Wang, "
     "queue no. 3, booking ACDE3467."),
    ("no_show_warning", STANDING,
     "【预约】张伟，近12个月已爽约3次，再爽约将暂停网上和电话预约。不能来请提前取消。",
     STANDING_EN,
     "[Yuyue] Zhang Wei has missed 3 booked visits in 12 months. One more will suspend online and "
     "phone booking. Please cancel in advance if you cannot come."),
    ("patient_suspended", STANDING,
     "【预约】张伟，近12个月爽约3次，网上和电话预约暂停至2027-02-21，现场挂号不受影响。",
     STANDING_EN,
     "[Yuyue] After 3 missed visits in 12 months, online and phone booking for Zhang Wei is "
     "suspended until 2027-02-21. Walk-in registration is still open."),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "zh_context", "zh", "en_context", "en"), CASES)
def test_each_kind_in_both_languages(kind, zh_context, zh, en_context, en):
    assert render(kind=kind, language="zh-hans", context=zh_context) == zh
    assert render(kind=kind, language="en", context=en_context) == en


def test_every_kind_is_covered():
    assert {case[0] for case in CASES} == set(TEXTS)


@pytest.mark.parametrize(("kind", "zh_context"), [(c[0], c[1]) for c in CASES])
def test_chinese_sms_fits_one_segment(kind, zh_context):
    text = render(kind=kind, language="zh-hans", context=zh_context)
    assert len(text) <= 70
    assert sms_segments(text) == 1


def test_segments_of_long_texts():
    assert sms_segments("字" * 70) == 1
    assert sms_segments("字" * 71) == 2
    assert sms_segments("字" * 134) == 2
    assert sms_segments("字" * 135) == 3


def test_alternatives_are_listed_at_most_three():
    context = {**STOP, "alternatives": [ALTERNATIVE] * 4}
    text = render(kind="booking_cancelled_by_hospital", language="zh-hans", context=context)
    assert text.endswith(
        "已取消。可改约：" + "；".join(["李明医生2026-11-25 08:00（专家号）"] * 3) + "。"
    )
    english = render(
        kind="session_stopped", language="en", context={**STOP_EN, "alternatives": [ALTERNATIVE_EN]}
    )
    assert english.endswith("is cancelled. Alternatives: Dr Li Ming, 2026-11-25 08:00 (expert).")


def test_combined_reminder_lists_each_booking_of_the_day_in_time_order():
    later = {**BOOKING, "when": "2026-11-24 10:30", "patient": "张小明", "queue_number": 7}
    text = render(kind="booking_reminder", language="zh-hans", context={"items": [later, BOOKING]})
    assert text == (
        "【预约】提醒：您2026-11-24有2个预约：08:00，张伟，眼科，第3号；10:30，张小明，眼科，第7号。"
        "请提前30分钟到院签到。"
    )
    english = render(
        kind="booking_reminder",
        language="en",
        context={"items": [BOOKING_EN, {**BOOKING_EN, "when": "2026-11-24 10:30"}]},
    )
    assert english == (
        "[Yuyue] Reminder: 2 appointments on 2026-11-24: 08:00 Zhang Wei, Ophthalmology, "
        "queue no. 3; 10:30 Zhang Wei, Ophthalmology, queue no. 3. "
        "Please arrive 30 minutes early to check in."
    )


def test_unknown_kind_and_missing_keys_render_safely():
    assert render(kind="new_kind", language="zh-hans", context={}) == "【预约】您有一条新消息。"
    assert render(kind="new_kind", language="en", context={}) == "[Yuyue] You have a new message."
    assert render(kind="sign_in_code", language="en", context={}) == (
        "[Yuyue] Your sign-in code is . Never share it with anyone."
    )


def test_subject_names_the_hospital_and_the_kind(settings):
    settings.YUYUE_HOSPITAL_NAME = "示范医院"
    settings.YUYUE_HOSPITAL_NAME_EN = "Demo Hospital"
    assert subject(kind="booking_confirmed", language="zh-hans") == "示范医院 · 预约成功"
    assert subject(kind="booking_confirmed", language="en") == "Demo Hospital · Booking confirmed"
    settings.YUYUE_HOSPITAL_NAME_EN = ""  # no English name: the Chinese one
    assert subject(kind="booking_confirmed", language="en") == "示范医院 · Booking confirmed"


def test_calendar_of_a_confirmation_and_of_a_cancellation():
    ics = calendar(kind="booking_confirmed", language="zh-hans", context=BOOKING)
    cal = icalendar.Calendar.from_ical(ics)
    (event,) = cal.walk("VEVENT")
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    assert str(cal["method"]) == "PUBLISH"
    assert str(event["uid"]) == "booking-ACDE3467@yuyue"
    assert event.decoded("dtstart") == datetime.datetime(2026, 11, 24, 8, 0, tzinfo=shanghai)
    assert event.decoded("dtend") == datetime.datetime(2026, 11, 24, 8, 30, tzinfo=shanghai)
    assert str(event["summary"]) == "眼科 王建国医生"

    cancel = icalendar.Calendar.from_ical(
        calendar(kind="booking_cancelled", language="en", context=BOOKING)
    )
    (event,) = cancel.walk("VEVENT")
    assert str(cancel["method"]) == "CANCEL"
    assert str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == "booking-ACDE3467@yuyue"

    assert calendar(kind="sign_in_code", language="en", context={"code": "1"}) is None
