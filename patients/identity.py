"""Identity documents and phones: validation with python-stdnum, masking for display,
the audit log and log lines.

Masks cannot be reversed by combining what a page shows: a document number keeps its
last 4 characters only (the birth date inside a resident ID stays hidden), a phone its
first 3 and last 4 digits (the form patients know from SMS: 138****5678).
"""

import datetime
import re
import unicodedata
from dataclasses import dataclass

from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import ric

# An 18-character resident ID anywhere in a text (17 digits and a digit or X).
RESIDENT_ID_PATTERN = re.compile(
    r"(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])"
)
# A mainland mobile number anywhere in a text, not inside a longer run of digits.
MOBILE_PATTERN = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
# A whole value that is a phone number as stored (normalised: an optional "+" and digits).
_PHONE_VALUE = re.compile(r"\+?[0-9]{7,15}")
# A phone as typed: separators dropped; then an optional "+" and 6 to 15 digits (E.164).
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_PHONE_NORMALISED = re.compile(r"\+?[0-9]{6,15}")
MAINLAND_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# What staff type to find a patient by the last 4 characters of a document number.
DOCUMENT_SUFFIX_PATTERN = re.compile(r"[0-9A-Za-z]{4}")
# Shown in full before the mask: anything shorter is masked whole.
DOCUMENT_KEPT = 4
DOCUMENT_SHORTEST_SHOWN = 9


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
    """Keep the last 4 characters only: **************1234.

    The first characters of a resident ID are the birthplace and the birth date, which a
    list also showing the birth date would complete; the last 4 are what the desk asks
    for. Numbers shorter than 9 characters are masked whole.
    """
    if len(value) < DOCUMENT_SHORTEST_SHOWN:
        return "*" * len(value)
    return "*" * (len(value) - DOCUMENT_KEPT) + value[-DOCUMENT_KEPT:]


def mask_phone(value: str | None) -> str:
    """Keep the first 3 and last 4 digits of a phone number: 138****5678.

    Separators and a "+" are dropped first; a number of fewer than 9 digits keeps its
    last 4 only, fewer than 7 is masked whole. "" (or None) is "".
    """
    digits = re.sub(r"[^0-9]", "", value or "")
    if len(digits) >= 9:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 7:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def mask_resident_ids_in(text: str) -> str:
    return RESIDENT_ID_PATTERN.sub(lambda m: mask_document_number(m.group(0)), text)


def mask_phones_in(text: str) -> str:
    """Mask every mainland mobile number in a text; other digits are left alone."""
    return MOBILE_PATTERN.sub(lambda m: mask_phone(m.group(0)), text)


def mask_personal_data_in(text: str) -> str:
    """Resident IDs first (an ID contains phone-like runs of digits), then phones."""
    return mask_phones_in(mask_resident_ids_in(text))


def mask_personal_value(value: str) -> str:
    """For a value that may be a phone, a name or free text (an account's username is its
    phone for patients, a name for staff): a whole phone number is masked, resident IDs
    and mobile numbers inside other text too. The audit log's mask
    (AUDITLOG_MASK_CALLABLE); its "None" for no value stays as it is."""
    text = mask_resident_ids_in(value or "")
    if _PHONE_VALUE.fullmatch(text):
        return mask_phone(text)
    return mask_phones_in(text)


def phone_normalise(value: str) -> str | None:
    """A phone in stored form — digits with an optional leading "+", +86 / 0086 before a
    mainland mobile dropped — or None when it is no phone number. The one rule for
    storing phones (patients.services) and for finding them (patients.selectors)."""
    phone = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", value or ""))
    for prefix in ("+86", "0086"):
        rest = phone.removeprefix(prefix)
        if rest != phone and MAINLAND_MOBILE.fullmatch(rest):
            phone = rest
    return phone if _PHONE_NORMALISED.fullmatch(phone) else None


def document_suffix_query(term: str) -> str | None:
    """The last 4 characters of a document number, when a search term is exactly that
    (as shown in the lists: "002X"), in stored form (upper case); else None."""
    term = (term or "").strip()
    return term.upper() if DOCUMENT_SUFFIX_PATTERN.fullmatch(term) else None


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    """Full years on `day`: what lists show instead of a birth date."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
