"""Masks that cannot be reversed: a document number keeps its last 4 characters, a phone
its first 3 and last 4 digits, in pages, the audit log and log lines."""

import datetime
import logging

import pytest

from patients.identity import (
    age_on,
    document_suffix_query,
    mask_document_number,
    mask_personal_data_in,
    mask_personal_value,
    mask_phone,
    mask_phones_in,
)
from patients.logging import MaskIdentityFilter

GB_EXAMPLE = "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (GB_EXAMPLE, "**************002X"),
        ("110105194912310021", "**************0021"),
        ("E12345678", "*****5678"),  # a passport: 9 characters
        ("E1234567", "********"),  # shorter: nothing kept
        ("AB12", "****"),
        ("", ""),
    ],
)
def test_a_document_number_keeps_its_last_4_only(value, masked):
    assert mask_document_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+447911123456", "447*****3456"),
        ("02012345", "****2345"),
        ("123456", "******"),
        ("", ""),
    ],
)
def test_a_phone_keeps_its_first_3_and_last_4_digits(value, masked):
    assert mask_phone(value) == masked


def test_mobiles_in_text_are_masked_but_not_inside_longer_digit_runs():
    text = "call 13812345678, order 213812345678 or 138123456789, tel:19912345678."

    assert mask_phones_in(text) == (
        "call 138****5678, order 213812345678 or 138123456789, tel:199****5678."
    )


def test_ids_and_phones_in_one_text():
    text = f"patient {GB_EXAMPLE} phone 13812345678 slot 20250301"

    assert mask_personal_data_in(text) == (
        "patient **************002X phone 138****5678 slot 20250301"
    )


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),  # a patient's username
        ("desk.wang", "desk.wang"),  # a staff member's
        ("None", "None"),  # auditlog's "no value"
        ("2026-11-23", "2026-11-23"),
        (GB_EXAMPLE, "**************002X"),
        ("note: 13812345678", "note: 138****5678"),
    ],
)
def test_the_audit_mask(value, masked):
    assert mask_personal_value(value) == masked


def test_the_log_filter_masks_phones_and_ids_in_messages_and_tracebacks(caplog):
    logger = logging.getLogger("yuyue.tests.masking")
    caplog.handler.addFilter(MaskIdentityFilter())

    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("account %s for %s", "13812345678", GB_EXAMPLE)
        try:
            raise ValueError(f"duplicate row (13912345678, {GB_EXAMPLE})")
        except ValueError:
            logger.exception("insert failed")

    assert caplog.messages[0] == "account 138****5678 for **************002X"
    assert "13812345678" not in caplog.text
    assert "13912345678" not in caplog.text
    assert GB_EXAMPLE not in caplog.text
    assert "duplicate row (139****5678, **************002X)" in caplog.text


@pytest.mark.parametrize(
    ("term", "suffix"),
    [("002x", "002X"), (" 1234 ", "1234"), ("12345", None), ("王秀英", None), ("", None)],
)
def test_a_4_character_term_is_a_document_suffix(term, suffix):
    assert document_suffix_query(term) == suffix


def test_age_counts_full_years():
    born = datetime.date(1949, 12, 31)

    assert age_on(born, datetime.date(2025, 12, 30)) == 75
    assert age_on(born, datetime.date(2025, 12, 31)) == 76
