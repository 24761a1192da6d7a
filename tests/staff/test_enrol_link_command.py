"""The first superuser's way to a second factor: a link from the command line."""

import io

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import AccountFactory, StaffFactory


@pytest.mark.django_db
def test_the_command_prints_a_working_link(client):
    boss = StaffFactory(username="root", is_superuser=True)
    out = io.StringIO()

    call_command("enrol_link", "root", "--base-url", "https://yuyue.example.org/", stdout=out)

    link = out.getvalue().strip()
    assert link.startswith("https://yuyue.example.org/admin/enrol/")
    assert TOTPDevice.objects.get(user=boss).confirmed is False
    assert client.get(link.removeprefix("https://yuyue.example.org")).status_code == 200


@pytest.mark.django_db
def test_the_command_refuses_a_patient_account():
    AccountFactory(username="13800009999")

    with pytest.raises(CommandError, match="No active staff account"):
        call_command("enrol_link", "13800009999", stdout=io.StringIO())
    assert not TOTPDevice.objects.exists()
