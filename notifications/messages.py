"""Message texts per kind, in zh-hans and English, rendered from the stored context.

The texts live here, not in the gettext catalogue, because an SMS is counted in
characters: a Chinese text should fit one 70-character segment for ordinary names, and
each kind's two languages are easiest to keep in step side by side. A missing context
key renders as an empty string; an unknown kind renders a neutral notice.

Chinese texts use Chinese punctuation and no spaces between words, and separate fields
with "，" or a word (a name may end in digits: "示例患者40，2026-12-07 15:30"); English
texts use ordinary spacing. Text someone typed (a stop reason) goes in through `clause`,
so its own trailing full stop or spaces never double the template's punctuation.
"""

import datetime
import re

from django.conf import settings

from core.hospital import hospital_name

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
        ZH: "【预约】{patient}预约成功：{when}，{department}，{doctor}医生，第{queue_number}号，"
        "预约号{code}。带眼镜和旧报告，散瞳后勿驾车。",
        EN: "[Yuyue] Booking {code} confirmed: {patient}, {department}, Dr {doctor}, {when}, "
        "queue no. {queue_number}. Bring your glasses and earlier reports. Do not drive after "
        "dilating eye drops.",
    },
    "booking_cancelled": {
        ZH: "【预约】{patient}在{department}{when}的预约（预约号{code}）已取消。",
        EN: "[Yuyue] Booking {code} for {patient} on {when} ({department}) is cancelled.",
    },
    "booking_rescheduled": {
        ZH: "【预约】预约号{code}已改至{when}，{department}，{doctor}医生，第{queue_number}号。",
        EN: "[Yuyue] Booking {code} moved to {when}, {department}, Dr {doctor}, "
        "queue no. {queue_number}.",
    },
    "booking_reminder": {
        ZH: "【预约】提醒：{patient}，{when}，{department}，{doctor}医生，第{queue_number}号，"
        "预约号{code}。请提前30分钟到院签到。",
        EN: "[Yuyue] Reminder: {patient}, {when}, {department}, Dr {doctor}, "
        "queue no. {queue_number}, booking {code}. Please arrive 30 minutes early to check in.",
    },
    "booking_cancelled_by_hospital": {
        ZH: "【预约】抱歉，因{reason}，{patient}在{doctor}医生{when}的预约{code}已取消。",
        EN: "[Yuyue] Sorry: the hospital cancelled booking {code} for {patient} ({when}, "
        "{department}, Dr {doctor}). Reason: {reason}.",
    },
    "session_stopped": {
        ZH: "【预约】{doctor}医生{when}停诊（{reason}），{patient}的预约{code}已取消。",
        EN: "[Yuyue] Session stopped: Dr {doctor} ({department}) will not see patients at "
        "{when}. Reason: {reason}. Booking {code} for {patient} is cancelled.",
    },
    "waitlist_booked": {
        ZH: "【预约】候补成功：{patient}，{when}，{department}，{doctor}医生，第{queue_number}号，"
        "预约号{code}。",
        EN: "[Yuyue] Waitlist place booked: {patient}, {when}, {department}, Dr {doctor}, "
        "queue no. {queue_number}, booking {code}.",
    },
    "no_show_warning": {
        ZH: "【预约】{patient}，近12个月已爽约{count}次，再爽约将暂停网上和电话预约。不能来请提前取消。",
        EN: "[Yuyue] {patient} has missed {count} booked visits in 12 months. One more will "
        "suspend online and phone booking. Please cancel in advance if you cannot come.",
    },
    "patient_suspended": {
        ZH: "【预约】{patient}，近12个月爽约{count}次，网上和电话预约暂停至{until}，现场挂号不受影响。",
        EN: "[Yuyue] After {count} missed visits in 12 months, online and phone booking for "
        "{patient} is suspended until {until}. Walk-in registration is still open.",
    },
}

FALLBACK = {ZH: "【预约】您有一条新消息。", EN: "[Yuyue] You have a new message."}

# (lead, joiner, item, level, end, none): "可改约：李明医生2026-11-25 08:00（专家号）；…。"
ALTERNATIVES = {
    ZH: ("可改约：", "；", "{doctor}医生{when}", "（{level}）", "。", "详询{phone}。"),
    EN: (
        " Alternatives: ",
        "; ",
        "Dr {doctor}, {when}",
        " ({level})",
        ".",
        " Please call {phone} to rebook.",
    ),
}

REMINDER_COMBINED = {
    ZH: (
        "【预约】提醒：您{day}有{count}个预约：",
        "；",
        "{time}，{patient}，{department}，第{queue_number}号",
        "。请提前30分钟到院签到。",
    ),
    EN: (
        "[Yuyue] Reminder: {count} appointments on {day}: ",
        "; ",
        "{time} {patient}, {department}, queue no. {queue_number}",
        ". Please arrive 30 minutes early to check in.",
    ),
}

# Context keys holding text someone typed (a stop reason, a notice): they may end with
# their own full stop or spaces, which the template's punctuation must not double.
FREE_TEXT_KEYS = ("reason", "notice")
# Said instead of a free text that was left empty (or was only punctuation).
FREE_TEXT_DEFAULT = {"reason": {ZH: "医院工作安排", EN: "hospital arrangements"}}
# Punctuation a clause may end (or start) with, Chinese and ASCII.
CLAUSE_EDGE_PUNCTUATION = "。．.！!？?，,、；;：:…～~"
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ASCII_AFTER_HAN = re.compile(rf"(?<=[{_HAN}])\s*([,;:!?.])\s*")
_FULL_WIDTH = {",": "，", ";": "；", ":": "：", "!": "！", "?": "？", ".": "。"}

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


def clause(text: object, lang: str = EN) -> str:
    """Free text made fit to sit inside a sentence: whitespace collapsed, no punctuation
    or spaces at either end (the template brings its own), and in Chinese no ASCII
    commas or full stops after Chinese characters. "医生临时有事。 " -> "医生临时有事"."""
    text = " ".join(str(text or "").split())
    if lang == ZH:
        text = _ASCII_AFTER_HAN.sub(lambda m: _FULL_WIDTH[m.group(1)], text)
    return text.strip(CLAUSE_EDGE_PUNCTUATION + " ")


def _fields(context: dict, lang: str) -> _Context:
    """The context as the templates use it: strings trimmed, free texts as clauses."""
    fields = _Context()
    for key, value in context.items():
        if key in FREE_TEXT_KEYS:
            value = clause(value, lang) or FREE_TEXT_DEFAULT.get(key, {}).get(lang, "")
        elif isinstance(value, str):
            value = " ".join(value.split())
        fields[key] = value
    for key, default in FREE_TEXT_DEFAULT.items():
        fields.setdefault(key, default[lang])
    return fields


def render(*, kind: str, language: str, context: dict) -> str:
    """The text of one message (SMS body, e-mail body, inbox line)."""
    lang = _lang(language)
    if kind == "booking_reminder" and context.get("items"):
        return _render_combined_reminder(lang, context["items"])
    template = TEXTS[kind][lang] if kind in TEXTS else FALLBACK[lang]
    text = template.format_map(_fields(context, lang))
    if kind in ("booking_cancelled_by_hospital", "session_stopped"):
        text += _render_alternatives(lang, context.get("alternatives") or [])
    return text


def subject(*, kind: str, language: str) -> str:
    lang = _lang(language)
    title = SUBJECTS.get(kind, {ZH: "消息", EN: "Message"})[lang]
    return f"{hospital_name(lang)} · {title}"


def sms_segments(text: str) -> int:
    """How many SMS parts a text needs (UCS-2: 70 alone, 67 each when split)."""
    if len(text) <= SMS_SEGMENT:
        return 1
    return -(-len(text) // 67)


def _render_alternatives(lang: str, alternatives: list[dict]) -> str:
    lead, joiner, item, level, end, none = ALTERNATIVES[lang]
    if not alternatives:
        return none.format(phone=settings.YUYUE_HOSPITAL_PHONE)
    shown = []
    for alternative in alternatives[:MAX_ALTERNATIVES_IN_SMS]:
        fields = _fields(alternative, lang)
        shown.append(
            item.format_map(fields) + (level.format_map(fields) if fields["level"] else "")
        )
    return lead + joiner.join(shown) + end


def _render_combined_reminder(lang: str, items: list[dict]) -> str:
    lead, joiner, item, tail = REMINDER_COMBINED[lang]
    items = sorted(items, key=lambda i: str(i.get("when", "")))
    day, _space, _time = str(items[0].get("when", "")).partition(" ")
    lines = []
    for one in items:
        fields = _fields(one, lang)
        _day, _space, time = str(fields["when"]).partition(" ")
        fields["time"] = time or fields["when"]
        lines.append(item.format_map(fields))
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
        if end.tzinfo is None:
            end = end.replace(tzinfo=tz)
    else:
        end = start + datetime.timedelta(minutes=30)
    # An ISO offset ("+08:00") is not a zone: calendars get the hospital's named zone.
    return start.astimezone(tz), end.astimezone(tz)


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
        # The room and floor when the writer knows them, after the hospital's name.
        place = " ".join(part for part in (hospital_name(lang), entry.get("location", "")) if part)
        event.add("location", place)
        event.add("description", render(kind=kind, language=language, context=entry))
        event.add("status", "CANCELLED" if cancel else "CONFIRMED")
        event.add("sequence", 1 if cancel else 0)
        cal.add_component(event)
        added = True
    return cal.to_ical() if added else None
