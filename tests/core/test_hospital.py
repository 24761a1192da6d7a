"""The hospital's name and emergency address in the reader's language."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import translation

from core.hospital import hospital_address, hospital_name

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hospital(settings):
    settings.YUYUE_HOSPITAL_NAME = "甲医院"
    settings.YUYUE_HOSPITAL_NAME_EN = "Hospital A"
    settings.YUYUE_HOSPITAL_ADDRESS = "急诊楼一层"
    settings.YUYUE_HOSPITAL_ADDRESS_EN = "Emergency building, ground floor"


def test_each_fact_in_the_language_asked_or_the_active_one(hospital):
    assert (hospital_name("zh-hans"), hospital_name("en")) == ("甲医院", "Hospital A")
    assert hospital_address("en") == "Emergency building, ground floor"
    with translation.override("zh-hans"):
        assert (hospital_name(), hospital_address()) == ("甲医院", "急诊楼一层")
    with translation.override("en"):
        assert hospital_address() == "Emergency building, ground floor"


def test_english_falls_back_to_chinese_while_it_is_empty(hospital, settings):
    settings.YUYUE_HOSPITAL_NAME_EN = ""
    settings.YUYUE_HOSPITAL_ADDRESS_EN = ""

    assert (hospital_name("en"), hospital_address("en")) == ("甲医院", "急诊楼一层")


def test_templates_get_the_language_they_are_rendered_in(hospital):
    # The bilingual signs render one half in each language, from one context.
    template = engines["django"].from_string(
        "{% load i18n %}{{ hospital_address }}"
        '|{% language "zh-hans" %}{{ hospital_name }}{% endlanguage %}'
        '|{% language "en" %}{{ hospital_name }}{% endlanguage %}'
    )

    with translation.override("en"):
        html = template.render({}, RequestFactory().get("/"))

    assert html == "Emergency building, ground floor|甲医院|Hospital A"


def _settings_with(env: dict[str, str]) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("YUYUE_", "DJANGO_"))}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings as s; "
            "print(s.YUYUE_HOSPITAL_NAME_EN); print(s.YUYUE_HOSPITAL_ADDRESS_EN)",
        ],
        cwd=ROOT,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_demos_english_never_shows_beside_a_real_hospitals_chinese():
    assert _settings_with({}) == [
        "Demo Hospital Eye Centre",
        "Emergency building, ground floor, 1 Demo Road",
    ]
    # A hospital that names itself but gives no English: its Chinese, not the demo's road.
    assert _settings_with({"YUYUE_HOSPITAL_NAME": "乙医院", "YUYUE_HOSPITAL_ADDRESS": "乙路"}) == [
        "",
        "",
    ]
    assert _settings_with(
        {"YUYUE_HOSPITAL_ADDRESS": "乙路", "YUYUE_HOSPITAL_ADDRESS_EN": "B Road"}
    ) == ["Demo Hospital Eye Centre", "B Road"]
