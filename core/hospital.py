"""The hospital's name and emergency address, in the reader's language.

Settings hold each in Chinese (`YUYUE_HOSPITAL_NAME`) and in English (`..._EN`); an
empty English text shows the Chinese one, as the catalogue does. Pages get both through
the `hospital_facts` context processor, evaluated when the template shows them, so a
`{% language %}` block (the bilingual signs) gets its own language's text.
"""

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.functional import lazy


def _in_language(chinese: str, english: str, language: str | None) -> str:
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    if language.lower().startswith("zh"):
        return chinese
    return english or chinese


def hospital_name(language: str | None = None) -> str:
    """The hospital's name in `language` (default: the active language)."""
    return _in_language(settings.YUYUE_HOSPITAL_NAME, settings.YUYUE_HOSPITAL_NAME_EN, language)


def hospital_address(language: str | None = None) -> str:
    """Where the emergency department is, in `language` (default: the active language)."""
    return _in_language(
        settings.YUYUE_HOSPITAL_ADDRESS, settings.YUYUE_HOSPITAL_ADDRESS_EN, language
    )


_lazy_name = lazy(hospital_name, str)
_lazy_address = lazy(hospital_address, str)


def hospital_facts(request: HttpRequest) -> dict:
    """Template context: `hospital_name`, `hospital_address`, `hospital_phone`."""
    return {
        "hospital_name": _lazy_name(),
        "hospital_address": _lazy_address(),
        "hospital_phone": settings.YUYUE_HOSPITAL_PHONE,
    }
