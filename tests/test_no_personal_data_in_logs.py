"""The log guard (tests/conftest.py `personal_data_guard`): every test's log lines are
formatted as the console handler formats them and checked for full ID and phone numbers.
These tests show that it sees what the console would print, and that it can fail."""

import logging

import pytest

from patients import logging as patients_logging

GB_EXAMPLE = "11010519491231002X"
PHONE = "13812345678"
logger = logging.getLogger("yuyue.tests.guard")


def test_masked_lines_pass(personal_data_guard):
    logger.warning("patient %s called from %s", GB_EXAMPLE, PHONE)

    assert personal_data_guard.lines == ["patient **************002X called from 138****5678"]
    assert personal_data_guard.leaks() == []


def test_a_traceback_is_checked_too(personal_data_guard):
    try:
        raise ValueError(f"duplicate key (phone)=({PHONE})")
    except ValueError:
        logger.exception("insert failed")

    assert "duplicate key (phone)=(138****5678)" in personal_data_guard.lines[0]
    assert personal_data_guard.leaks() == []


def test_the_guard_catches_an_unmasked_line(personal_data_guard, monkeypatch):
    # given masking broken at the source
    monkeypatch.setattr(patients_logging, "mask_personal_data_in", lambda text: text)

    logger.warning("patient %s called from %s", GB_EXAMPLE, PHONE)
    logger.warning("slot 20261123 booking 110105194912310021")  # not a valid ID: passes

    assert personal_data_guard.leaks() == [f"patient {GB_EXAMPLE} called from {PHONE}"]
    personal_data_guard.lines.clear()  # this test passes; any other such test fails


@pytest.mark.parametrize(
    "line",
    [
        f"sms to {PHONE}",
        f"id={GB_EXAMPLE.lower()}",
    ],
)
def test_what_counts_as_a_leak(personal_data_guard, line):
    personal_data_guard.lines.append(line)

    assert personal_data_guard.leaks() == [line]
    personal_data_guard.lines.clear()


def test_what_does_not(personal_data_guard):
    lines = ["order 213812345678", "code 110105194912310021", "sms to 138****5678"]
    personal_data_guard.lines.extend(lines)

    assert personal_data_guard.leaks() == []
