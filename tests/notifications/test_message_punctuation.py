"""Spacing and punctuation of every message kind in both languages, whatever the free text.

The exact texts are pinned in test_messages.py; these tests render every kind with
awkward but realistic values (a name ending in digits, a stop reason with or without its
own full stop, trailing spaces) and check the typography rules instead.
"""

import re

import hypothesis
import pytest
from hypothesis import strategies as st

from notifications.messages import CLAUSE_EDGE_PUNCTUATION, TEXTS, ZH, clause, render

NAME = "示例患者40"  # demo patients are named like this: the name itself ends in digits
ZH_BOOKING = {
    "code": "ACDE3467",
    "patient": NAME,
    "department": "白内障专科",
    "doctor": "王建国",
    "when": "2026-12-07 15:30",
    "queue_number": 40,
    "count": 3,
    "until": "2027-02-21",
}
EN_BOOKING = {
    **ZH_BOOKING,
    "patient": "Zhang Wei",
    "department": "Cataract clinic",
    "doctor": "Wang Jianguo",
}
ZH_ALTERNATIVES = [
    {"doctor": "李明", "when": "2026-12-08 08:00", "level": "专家号"},
    {"doctor": "赵明", "when": "2026-12-09 13:30", "level": ""},
]
EN_ALTERNATIVES = [
    {"doctor": "Li Ming", "when": "2026-12-08 08:00", "level": "Expert"},
    {"doctor": "Zhao Ming", "when": "2026-12-09 13:30", "level": ""},
]
REASONS = [
    "医生临时有事。",
    "医生临时有事",
    "停诊！  ",
    "The doctor is ill.",
    "the doctor is ill",
    "doctor ill?? ",
    "医生临时出诊任务...",
    "",
]
KINDS = [*TEXTS, "combined_reminder", "unknown_kind"]

ZH_PUNCTUATION = "，。；：！？、"
ZH_DOUBLE = re.compile(rf"[{ZH_PUNCTUATION}]{{2}}|（[{ZH_PUNCTUATION}]|[{ZH_PUNCTUATION}]）")
# ASCII punctuation is only fine inside a number, a date or a time (2026-12-07 15:30).
ZH_ASCII = re.compile(r"[,;!?()]|(?<!\d)[.:]|[.:](?!\d)")
# No space next to a Chinese character or mark ("眼科 王建国医生", "医生 2026"); a space
# stays inside "2026-12-07 15:30" and inside English someone typed ("the doctor is ill").
CHINESE = r"\u3400-\u9fff（）【】" + ZH_PUNCTUATION
ZH_SPACE = re.compile(rf"[{CHINESE}] | [{CHINESE}]")
EN_DOUBLE = re.compile(r"[,.;:!?]{2}|\(\s*\)|[,.;:!?]\)")
EN_SPACE_BEFORE = re.compile(r"\s[,.;:!?)]|\(\s")
EN_NO_SPACE_AFTER = re.compile(r"[,;!?](?=\S)|\.(?=[A-Za-z\[(])|:(?=[^\d\s])")


def message(kind, lang, reason="医生临时有事", alternatives=()):
    booking = ZH_BOOKING if lang == "zh-hans" else EN_BOOKING
    context = {**booking, "reason": reason, "alternatives": list(alternatives)}
    if kind == "combined_reminder":
        later = {**booking, "when": "2026-12-07 16:00", "queue_number": 41}
        return render(kind="booking_reminder", language=lang, context={"items": [later, context]})
    return render(kind=kind, language=lang, context=context)


def assert_chinese_typography(text):
    assert text.startswith("【预约】"), text
    assert text.endswith("。"), text
    assert not ZH_DOUBLE.search(text), text
    assert not ZH_ASCII.search(text), text
    assert not ZH_SPACE.search(text), text
    # The name is always set off: never "示例患者402026-12-07" or "示例患者40 2026".
    assert not re.search(re.escape(NAME) + "[0-9A-Za-z ]", text), text


def assert_english_typography(text):
    assert text.startswith("[Yuyue] "), text
    assert text.endswith("."), text
    assert "  " not in text, text
    assert not EN_DOUBLE.search(text), text
    assert not EN_SPACE_BEFORE.search(text), text
    assert not EN_NO_SPACE_AFTER.search(text), text
    assert not re.search(f"[{ZH_PUNCTUATION}（）]", text), text


@pytest.mark.parametrize("alternatives", [False, True], ids=["no_alternatives", "alternatives"])
@pytest.mark.parametrize("reason", REASONS)
@pytest.mark.parametrize("kind", KINDS)
def test_chinese_text_has_chinese_punctuation_and_separated_fields(kind, reason, alternatives):
    text = message(kind, "zh-hans", reason, ZH_ALTERNATIVES if alternatives else ())
    assert_chinese_typography(text)


@pytest.mark.parametrize("alternatives", [False, True], ids=["no_alternatives", "alternatives"])
@pytest.mark.parametrize("reason", REASONS)
@pytest.mark.parametrize("kind", KINDS)
def test_english_text_has_ordinary_spacing_and_punctuation(kind, reason, alternatives):
    text = message(kind, "en", reason, EN_ALTERNATIVES if alternatives else ())
    assert_english_typography(text)


def test_the_reported_texts_are_fixed():
    cancelled = message("booking_cancelled", "zh-hans")
    assert "示例患者402026" not in cancelled
    assert cancelled == (
        "【预约】示例患者40在白内障专科2026-12-07 15:30的预约（预约号ACDE3467）已取消。"
    )
    stopped = message("booking_cancelled_by_hospital", "zh-hans", reason="医生停诊。")
    assert "。，" not in stopped
    assert stopped == (
        "【预约】抱歉，因医生停诊，示例患者40在王建国医生2026-12-07 15:30的预约ACDE3467已取消。"
        "详询010-0000-0000。"
    )
    english = message("session_stopped", "en", reason="The doctor is ill. ")
    assert "ill.." not in english
    assert "Reason: The doctor is ill. Booking ACDE3467" in english


def test_alternatives_read_as_a_list_in_both_languages():
    zh = message("session_stopped", "zh-hans", alternatives=ZH_ALTERNATIVES)
    assert zh.endswith("可改约：李明医生2026-12-08 08:00（专家号）；赵明医生2026-12-09 13:30。")
    en = message("session_stopped", "en", alternatives=EN_ALTERNATIVES)
    assert en.endswith(
        "Alternatives: Dr Li Ming, 2026-12-08 08:00 (Expert); Dr Zhao Ming, 2026-12-09 13:30."
    )


def test_combined_reminder_separates_each_field():
    assert message("combined_reminder", "zh-hans") == (
        "【预约】提醒：您2026-12-07有2个预约：15:30，示例患者40，白内障专科，第40号；"
        "16:00，示例患者40，白内障专科，第41号。请提前30分钟到院签到。"
    )


@pytest.mark.parametrize(
    ("typed", "lang", "expected"),
    [
        ("医生临时有事。", ZH, "医生临时有事"),
        ("  医生临时有事！！ ", ZH, "医生临时有事"),
        ("医生有事,改天再约.", ZH, "医生有事，改天再约"),
        ("The doctor is ill.  ", "en", "The doctor is ill"),
        ("Dr. Li  is\nill?", "en", "Dr. Li is ill"),
        ("。", ZH, ""),
        (None, "en", ""),
    ],
)
def test_clause_trims_what_someone_typed(typed, lang, expected):
    assert clause(typed, lang) == expected


def test_an_empty_reason_still_reads():
    assert "因医院工作安排，" in message("booking_cancelled_by_hospital", "zh-hans", reason=" 。")
    assert "Reason: hospital arrangements." in message("session_stopped", "en", reason="")


@hypothesis.settings(max_examples=200)
@hypothesis.given(st.text())
def test_clause_never_ends_or_starts_with_punctuation_or_space(typed):
    for lang in (ZH, "en"):
        trimmed = clause(typed, lang)
        assert trimmed == trimmed.strip()
        if trimmed:
            assert trimmed[0] not in CLAUSE_EDGE_PUNCTUATION
            assert trimmed[-1] not in CLAUSE_EDGE_PUNCTUATION
        assert clause(trimmed, lang) == trimmed


WORDS = st.text(alphabet="医生临时有事停诊设备故障abcdefg XYZ", max_size=20)
ENDINGS = st.text(alphabet="。.！!？?，,；; \t\n", max_size=4)


@hypothesis.settings(max_examples=100)
@hypothesis.given(words=WORDS, ending=ENDINGS, alternatives=st.booleans())
def test_any_reason_never_doubles_the_punctuation(words, ending, alternatives):
    reason = words + ending
    for kind in ("booking_cancelled_by_hospital", "session_stopped"):
        zh = message(kind, "zh-hans", reason, ZH_ALTERNATIVES if alternatives else ())
        assert not ZH_DOUBLE.search(zh), zh
        assert not ZH_ASCII.search(zh), zh
        en = message(kind, "en", reason, EN_ALTERNATIVES if alternatives else ())
        assert "  " not in en, en
        assert not EN_DOUBLE.search(en), en
        assert not EN_SPACE_BEFORE.search(en), en
