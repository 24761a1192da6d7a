import datetime
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.exceptions import ValidationError

from patients.identity import (
    is_valid_resident_id,
    mask_document_number,
    mask_resident_ids_in,
    parse_resident_id,
)
from patients.logging import MaskIdentityFilter
from tests.factories import resident_id
from tests.patients.factories import with_check_digit

# The worked example in GB 11643-1999.
GB_EXAMPLE = "11010519491231002X"


def test_parse_gb_standard_example():
    parsed = parse_resident_id(GB_EXAMPLE)

    assert parsed.number == GB_EXAMPLE
    assert parsed.birth_date == datetime.date(1949, 12, 31)
    assert parsed.sex == "F"


def test_parse_derives_male_from_odd_sequence():
    number = resident_id(birth_date=datetime.date(1985, 7, 1), sequence=123, area="320311")

    parsed = parse_resident_id(number)

    assert parsed.birth_date == datetime.date(1985, 7, 1)
    assert parsed.sex == "M"


def test_parse_accepts_lower_case_x():
    assert parse_resident_id(GB_EXAMPLE.lower()).number == GB_EXAMPLE


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("110105194912310021", id="bad-checksum"),
        pytest.param(with_check_digit("11010519990230001"), id="no-30-february"),
        pytest.param("11010519491231002", id="17-characters"),
        pytest.param(GB_EXAMPLE + "1", id="19-characters"),
        pytest.param(with_check_digit("99999919800101001"), id="unknown-area"),
        # 崇文区 (110103) was merged away in 2010: nobody born in 2015 has it.
        pytest.param(with_check_digit("11010320150101001"), id="area-gone-by-birth-year"),
        pytest.param("1101051949123100AX", id="letters"),
    ],
)
def test_parse_refuses_invalid_numbers(number):
    with pytest.raises(ValidationError):
        parse_resident_id(number)
    assert not is_valid_resident_id(number)


@given(
    birth_date=st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2020, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_built_numbers_validate_and_derive_back(birth_date, sequence):
    number = resident_id(birth_date=birth_date, sequence=sequence)

    parsed = parse_resident_id(number)

    assert parsed.number == number
    assert parsed.birth_date == birth_date
    assert parsed.sex == ("M" if sequence % 2 else "F")


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("320311199001011234", "**************1234"),
        (GB_EXAMPLE, "**************002X"),
        ("E12345678", "*****5678"),
        ("E1234567", "********"),
        ("", ""),
    ],
)
def test_mask_document_number(value, masked):
    assert mask_document_number(value) == masked


def test_mask_resident_ids_in_text_leaves_other_numbers():
    text = f"patient {GB_EXAMPLE} booked slot 20250301 via 13800001234"

    assert mask_resident_ids_in(text) == (
        "patient **************002X booked slot 20250301 via 13800001234"
    )


def test_log_filter_masks_a_resident_id_in_a_record(caplog):
    logger = logging.getLogger("yuyue.tests.patients")
    caplog.handler.addFilter(MaskIdentityFilter())

    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("registered %s for account %s", GB_EXAMPLE, 7)

    assert GB_EXAMPLE not in caplog.text
    assert caplog.messages == ["registered **************002X for account 7"]


def test_logging_settings_put_the_filter_on_every_root_handler():
    # pytest adds its own capturing handlers to the root logger; ours are the rest.
    configured = [
        handler for handler in logging.getLogger().handlers if type(handler).__module__ == "logging"
    ]

    assert configured
    for handler in configured:
        assert any(isinstance(f, MaskIdentityFilter) for f in handler.filters)
