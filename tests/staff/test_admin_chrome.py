"""The admin's look for the desk: the hospital's name, labels on every box, Chinese headings."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.utils import translation

from tests.factories import StaffFactory
from tests.staff.conftest import sign_in_verified


def test_the_header_names_the_hospital_in_the_reader_s_language(settings):
    settings.YUYUE_HOSPITAL_NAME = "示范医院眼科中心"
    settings.YUYUE_HOSPITAL_NAME_EN = "Demo Hospital Eye Centre"

    with translation.override("en"):
        english = str(admin.site.site_header)
    with translation.override("zh-hans"):
        chinese = str(admin.site.site_header)

    assert english == "Demo Hospital Eye Centre · Booking administration"
    assert chinese.startswith("示范医院眼科中心 · ")


@pytest.mark.django_db
def test_the_closure_form_labels_each_date_and_time_box(client):
    sign_in_verified(client, StaffFactory(is_superuser=True))

    content = client.get("/admin/booking/closure/add/").content.decode()

    for label in ("Start date", "Start time", "End date", "End time"):
        assert f'aria-label="{label}"' in content


@pytest.mark.django_db
def test_third_party_sections_have_translatable_headings():
    request = RequestFactory().get("/admin/")
    request.user = StaffFactory(is_superuser=True)

    names = {app["app_label"]: str(app["name"]) for app in admin.site.get_app_list(request)}

    assert names["otp_totp"] == "Two-factor sign-in: authenticator apps"
    assert names["otp_static"] == "Two-factor sign-in: backup codes"
    assert names["axes"] == "Sign-in lock-outs"


@pytest.mark.django_db
def test_the_headings_change_no_migration():
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
