"""The catalogue's patient-visible text, in Chinese and in English (django-modeltranslation).

Each field below gets a column per language (`name_zh_hans`, `name_en`); `name` reads the
active language's, and English falls back to Chinese while its text is empty
(`MODELTRANSLATION_FALLBACK_LANGUAGES`). Pages just show `department.name`.

Code that writes text in another language than the active one (a message in its
patient's language, a bilingual JSON document or sign) reads through `text_in` or
`texts`, never by picking `*_en` columns itself.
"""

from django.conf import settings
from django.db.models import Model
from django.utils import translation
from modeltranslation.translator import TranslationOptions, register

from clinics.models import Department, Doctor, Room


@register(Department)
class DepartmentTranslation(TranslationOptions):
    fields = ("name", "location")
    # Required in both languages, as the English name was before; location stays optional.
    required_languages = ("zh-hans", "en")


@register(Doctor)
class DoctorTranslation(TranslationOptions):
    # In English, `name` is the doctor's name in pinyin.
    fields = ("name", "specialties", "bio")
    required_languages = ("zh-hans",)


@register(Room)
class RoomTranslation(TranslationOptions):
    fields = ("name",)
    required_languages = ("zh-hans",)


def text_in(item: Model, field: str, language: str) -> str:
    """`item.<field>` as a reader of `language` sees it (English falls back to Chinese)."""
    with translation.override(language):
        return getattr(item, field) or ""


def texts(item: Model, field: str) -> dict[str, str]:
    """`item.<field>` in every language: {"zh-hans": ..., "en": ...}."""
    return {code: text_in(item, field, code) for code, _name in settings.LANGUAGES}
