"""No known password in production: the demo refuses to run there."""

import io

import pytest
from django.core.management import CommandError, call_command

from patients.models import Account


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_in_production(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="never in production"):
        call_command("seed_demo", stdout=io.StringIO())

    assert not Account.objects.exists()


@pytest.mark.django_db
def test_seed_demo_gives_each_role_a_member_and_the_doctor_their_sessions(settings):
    settings.DEBUG = True

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # again: nobody twice

    members = {
        a.username: sorted(a.groups.values_list("name", flat=True))
        for a in Account.objects.filter(is_staff=True, is_superuser=False)
    }
    assert members == {"desk": ["front_desk"], "ops": ["ops"], "doctor": ["doctor"]}
    doctor = Account.objects.get(username="doctor")
    assert doctor.check_password("yuyue-demo-2026")
    assert doctor.doctor.name_zh_hans == "王建国"
