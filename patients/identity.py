"""Identity documents: validation with python-stdnum, masking for display and logs."""

import datetime
import re
from dataclasses import dataclass

from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import ric

# An 18-character resident ID anywhere in a text (17 digits and a digit or X).
RESIDENT_ID_PATTERN = re.compile(
    r"(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])"
)


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: datetime.date
    sex: str  # "M" or "F": the 17th digit is odd for men, even for women


def parse_resident_id(value: str) -> ResidentId:
    """Validate a GB 11643 resident ID number; raise stdnum's ValidationError if bad."""
    number = ric.validate(value)
    return ResidentId(
        number=number,
        birth_date=ric.get_birth_date(number),
        sex="M" if int(number[16]) % 2 else "F",
    )


def is_valid_resident_id(value: str) -> bool:
    try:
        parse_resident_id(value)
    except stdnum_exceptions.ValidationError:
        return False
    return True


def mask_document_number(value: str) -> str:
    """Keep the first 4 and last 4 characters: 3203**********1234."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_resident_ids_in(text: str) -> str:
    return RESIDENT_ID_PATTERN.sub(lambda m: mask_document_number(m.group(0)), text)
