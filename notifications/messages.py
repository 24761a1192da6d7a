"""Message texts per kind, in zh-hans and English, rendered from the stored context.

The texts live here, not in the gettext catalogue, because an SMS is counted in
characters: a Chinese text should fit one 70-character segment for ordinary names, and
each kind's two languages are easiest to keep in step side by side. A missing context
key renders as an empty string; an unknown kind renders a neutral notice.
"""

import datetime

from django.conf import settings

ZH = "zh-hans"
EN = "en"
SMS_SEGMENT = 70  # characters in one UCS-2 SMS; a longer text goes out in 67-character parts

# Kinds that may be sent in quiet hours whatever the caller says.
ALWAYS_URGENT = frozenset({"sign_in_code"})
# Kinds that carry an appointment (an .ics for e-mail).
APPOINTMENT_KINDS = frozenset(
    {"booking_confirmed", "booking_rescheduled", "booking_reminder", "waitlist_booked"}
)
CANCELLATION_KINDS = frozenset(
    {"booking_cancelled", "booking_cancelled_by_hospital", "session_stopped"}
)

TEXTS: dict[str, dict[str, str]] = {
    "sign_in_code": {
        ZH: "【预约】您的登录验证码是{code}，请勿告诉他人。",
        EN: "[Yuyue] Your sign-in code is {code}. Never share it with anyone.",
    },
    "booking_confirmed": {
        ZH: "【预约】{patient}预约成功：{when} {department} {doctor}医生 第{queue_number}号，"
        "预约号{code}。带眼镜和旧报告，散瞳后勿驾车。",
        EN: "[Yuyue] Booking {code} confirmed: {patient}, {department}, Dr {doctor}, {when}, "
        "queue no. {queue_number}. Bring your glasses and earlier reports; eye drops may "
        "blur vision, do not drive.",
    },
    "booking_cancelled": {
        ZH: "【预约】{patient}{when} {department}的预约（预约号{code}）已取消。",
        EN: "[Yuyue] Booking {code} for {patient} on {when} ({department}) is cancelled.",
    },
    "booking_rescheduled": {
        ZH: "【预约】预约号{code}已改至{when} {department} {doctor}医生 第{queue_number}号。",
        EN: "[Yuyue] Booking {code} moved to {when}, {department}, Dr {doctor}, "
        "queue no. {queue_number}.",
    },
    "booking_reminder": {
        ZH: "【预约】提醒：{patient} {when} {department} {doctor}医生 第{queue_number}号，"
        "预约号{code}。请提前30分钟到院签到。",
        EN: "[Yuyue] Reminder: {patient}, {when}, {department}, Dr {doctor}, "
        "queue no. {queue_number}, booking {code}. Please arrive 30 minutes early to check in.",
    },
    "booking_cancelled_by_hospital": {
        ZH: "【预约】抱歉，因{reason}，{patient}{when} {doctor}医生的预约{code}已取消。",
        EN: "[Yuyue] Sorry: booking {code} for {patient}, {when}, {department}, Dr {doctor}, "
        "was cancelled by the hospital ({reason}).",
    },
    "session_stopped": {
        ZH: "【预约】{doctor}医生{when}停诊（{reason}），{patient}的预约{code}已取消。",
        EN: "[Yuyue] Session stopped: Dr {doctor} ({department}) will not see patients at "
        "{when} ({reason}); booking {code} for {patient} is cancelled.",
    },
    "waitlist_booked": {
        ZH: "【预约】候补成功：{patient} {when} {department} {doctor}医生 第{queue_number}号，"
        "预约号{code}。",
        EN: "[Yuyue] Waitlist place booked: {patient}, {when}, {department}, Dr {doctor}, "
        "queue no. {queue_number}, booking {code}.",
    },
    "no_show_warning": {
        ZH: "【预约】{patient}近12个月已爽约{count}次，再爽约将暂停网上和电话预约。不能来请提前取消。",
        EN: "[Yuyue] {patient} has missed {count} booked visits in 12 months. Another one "
        "suspends online and phone booking. Please cancel in advance if you cannot come.",
    },
    "patient_suspended": {
        ZH: "【预约】{patient}12个月内爽约{count}次，网上和电话预约暂停至{until}，现场挂号不受影响。",
        EN: "[Yuyue] After {count} missed visits in 12 months, online and phone booking for "
        "{patient} is suspended until {until}. Walk-in registration is still open.",
    },
}

FALLBACK = {ZH: "【预约】您有一条新消息。", EN: "[Yuyue] You have a new message."}

ALTERNATIVES = {
    ZH: ("可改约：", "；", "{doctor}医生 {when}（{level}）", "详询{phone}。"),
    EN: (
        " Alternatives: ",
        "; ",
        "Dr {doctor} {when} ({level})",
        " Please call {phone} to rebook.",
    ),
}

REMINDER_COMBINED = {
    ZH: (
        "【预约】提醒：您{day}有{count}个预约：",
        "；",
        "{time} {patient} {department} 第{queue_number}号",
        "。请提前30分钟到院签到。",
    ),
    EN: (
        "[Yuyue] Reminder: {count} appointments on {day}: ",
        "; ",
        "{time} {patient}, {department}, no. {queue_number}",
        ". Please arrive 30 minutes early to check in.",
    ),
}

SUBJECTS = {
    "sign_in_code": {ZH: "登录验证码", EN: "Your sign-in code"},
    "booking_confirmed": {ZH: "预约成功", EN: "Booking confirmed"},
    "booking_cancelled": {ZH: "预约已取消", EN: "Booking cancelled"},
    "booking_rescheduled": {ZH: "预约已改期", EN: "Booking moved"},
    "booking_reminder": {ZH: "就诊提醒", EN: "Appointment reminder"},
    "booking_cancelled_by_hospital": {
        ZH: "医院取消了您的预约",
        EN: "Booking cancelled by the hospital",
    },
    "session_stopped": {ZH: "停诊通知", EN: "Session stopped"},
    "waitlist_booked": {ZH: "候补成功", EN: "Waitlist place booked"},
    "no_show_warning": {ZH: "爽约提醒", EN: "Missed visits"},
    "patient_suspended": {ZH: "预约暂停通知", EN: "Booking suspended"},
}
MAX_ALTERNATIVES_IN_SMS = 3


class _Context(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _lang(language: str) -> str:
    return ZH if (language or "").lower().startswith("zh") else EN


def render(*, kind: str, language: str, context: dict) -> str:
    """The text of one message (SMS body, e-mail body, inbox line)."""
    lang = _lang(language)
    if kind == "booking_reminder" and context.get("items"):
        return _render_combined_reminder(lang, context["items"])
    template = TEXTS.get(kind, FALLBACK)
    text = (template[lang] if kind in TEXTS else FALLBACK[lang]).format_map(_Context(context))
    if kind in ("booking_cancelled_by_hospital", "session_stopped"):
        text += _render_alternatives(lang, context.get("alternatives") or [])
    return text


def subject(*, kind: str, language: str) -> str:
    lang = _lang(language)
    title = SUBJECTS.get(kind, {ZH: "消息", EN: "Message"})[lang]
    return f"{settings.YUYUE_HOSPITAL_NAME} · {title}"


def sms_segments(text: str) -> int:
    """How many SMS parts a text needs (UCS-2: 70 alone, 67 each when split)."""
    if len(text) <= SMS_SEGMENT:
        return 1
    return -(-len(text) // 67)


def _render_alternatives(lang: str, alternatives: list[dict]) -> str:
    lead, joiner, item, none = ALTERNATIVES[lang]
    if not alternatives:
        return none.format(phone=settings.YUYUE_HOSPITAL_PHONE)
    shown = alternatives[:MAX_ALTERNATIVES_IN_SMS]
    return (
        lead
        + joiner.join(item.format_map(_Context(a)) for a in shown)
        + ("。" if lang == ZH else ".")
    )


def _render_combined_reminder(lang: str, items: list[dict]) -> str:
    lead, joiner, item, tail = REMINDER_COMBINED[lang]
    items = sorted(items, key=lambda i: str(i.get("when", "")))
    day, _space, _time = str(items[0].get("when", "")).partition(" ")
    lines = []
    for one in items:
        _day, _space, time = str(one.get("when", "")).partition(" ")
        lines.append(item.format_map(_Context({**one, "time": time or one.get("when", "")})))
    return lead.format(day=day, count=len(items)) + joiner.join(lines) + tail


def appointment_times(context: dict) -> tuple[datetime.datetime, datetime.datetime] | None:
    """Start and end of the appointment a context speaks of (ISO `starts_at`/`ends_at`, or
    `when` as "YYYY-MM-DD HH:MM" in the hospital's time zone, 30 minutes long)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(settings.TIME_ZONE)
    try:
        if context.get("starts_at"):
            start = datetime.datetime.fromisoformat(context["starts_at"])
        else:
            start = datetime.datetime.strptime(
                str(context.get("when", "")) + " +0000", "%Y-%m-%d %H:%M %z"
            ).replace(tzinfo=None)
    except ValueError:
        return None
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    if context.get("ends_at"):
        end = datetime.datetime.fromisoformat(context["ends_at"])
    else:
        end = start + datetime.timedelta(minutes=30)
    return start, end


def calendar(*, kind: str, language: str, context: dict, uid_domain: str = "yuyue") -> bytes | None:
    """An iCalendar file for an appointment kind (REQUEST) or a cancellation (CANCEL)."""
    import icalendar

    if kind not in APPOINTMENT_KINDS | CANCELLATION_KINDS:
        return None
    entries = context.get("items") or [context]
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Yuyue//Eye clinic booking//EN")
    cal.add("version", "2.0")
    cancel = kind in CANCELLATION_KINDS
    cal.add("method", "CANCEL" if cancel else "PUBLISH")
    lang = _lang(language)
    added = False
    for entry in entries:
        times = appointment_times(entry)
        if times is None or not entry.get("code"):
            continue
        event = icalendar.Event()
        event.add("uid", f"booking-{entry['code']}@{uid_domain}")
        event.add("dtstamp", datetime.datetime.now(tz=datetime.UTC))
        event.add("dtstart", times[0])
        event.add("dtend", times[1])
        doctor = entry.get("doctor", "")
        title = (
            f"{entry.get('department', '')} {doctor}医生"
            if lang == ZH
            else f"{entry.get('department', '')}, Dr {doctor}"
        )
        event.add("summary", title)
        event.add("location", settings.YUYUE_HOSPITAL_NAME)
        event.add("description", render(kind=kind, language=language, context=entry))
        event.add("status", "CANCELLED" if cancel else "CONFIRMED")
        event.add("sequence", 1 if cancel else 0)
        cal.add_component(event)
        added = True
    return cal.to_ical() if added else None
