"""Roles: the groups the migration made are staff/roles.py's list, and each role sees in
the admin exactly what the list gives it."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import RequestFactory
from django.urls import reverse

from staff.roles import DOCTOR, FRONT_DESK, OPS, ROLES, SUPERUSER_ONLY_APPS, roles_sync
from tests.factories import DoctorFactory, SessionFactory, StaffFactory
from tests.staff.conftest import sign_in_verified

pytestmark = pytest.mark.usefixtures("otp_required")
ACTIONS = ("view", "add", "change", "delete")


def group_permissions(name: str) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in Group.objects.get(name=name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def member(role: str, **kwargs):
    user = StaffFactory(**kwargs)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_the_migration_made_the_groups_of_roles_py(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    for role, perms in ROLES.items():
        assert group_permissions(role) == set(perms), role


def test_syncing_again_puts_a_changed_group_back(db):
    front_desk = Group.objects.get(name=FRONT_DESK)
    front_desk.permissions.add(Permission.objects.get(codename="delete_booking"))
    front_desk.permissions.remove(Permission.objects.get(codename="check_in"))

    roles_sync(group_model=Group, permission_model=Permission)

    assert group_permissions(FRONT_DESK) == set(ROLES[FRONT_DESK])


def test_no_role_writes_second_factors_lock_outs_or_periodic_tasks(db):
    for role in ROLES:
        for perm in group_permissions(role):
            app_label, codename = perm.split(".")
            if app_label in SUPERUSER_ONLY_APPS:
                assert app_label == "django_celery_beat" and codename.startswith("view_"), (
                    role,
                    perm,
                )


def test_no_role_deletes_anything(db):
    for role in ROLES:
        assert not [p for p in group_permissions(role) if ".delete_" in p], role


def _expected(role: str, model, action: str) -> bool:
    perms = ROLES[role]
    opts = model._meta
    label = f"{opts.app_label}.{action}_{opts.model_name}"
    if action == "view":
        return label in perms or f"{opts.app_label}.change_{opts.model_name}" in perms
    return label in perms


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_has_exactly_its_rights_on_every_admin_model(db, role):
    user = member(role)
    superuser = StaffFactory(is_superuser=True)
    factory = RequestFactory()

    mismatches = []
    for model, model_admin in admin.site._registry.items():
        for action in ACTIONS:
            request = factory.get("/admin/")
            request.user = user
            check = getattr(model_admin, f"has_{action}_permission")
            actual = check(request)
            request.user = superuser
            # an admin may refuse an action to everyone (read-only pages): then no role has it
            expected = _expected(role, model, action) and check(request)
            if actual != expected:
                mismatches.append((model._meta.label, action, actual, expected))

    assert mismatches == []


DESK_PAGES = {
    "admin:frontdesk_walkin": {FRONT_DESK},
    "admin:frontdesk_phone": {FRONT_DESK},
    "admin:frontdesk_checkin": {FRONT_DESK},
    "admin:frontdesk_queue": {FRONT_DESK, DOCTOR},
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_the_desk_pages_open_for_the_roles_that_have_them(client, db, role):
    sign_in_verified(client, member(role))

    answers = {name: client.get(reverse(name)).status_code for name in DESK_PAGES}

    assert answers == {name: 200 if role in roles else 403 for name, roles in DESK_PAGES.items()}


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (
            FRONT_DESK,
            [
                "Register a walk-in patient",
                "Book for a phone caller",
                "Check a patient in",
                "Today's queue",
            ],
        ),
        (DOCTOR, ["Today's queue"]),
        (OPS, []),
    ],
)
def test_the_index_starts_with_the_desk_links_of_the_role(client, db, role, shown):
    sign_in_verified(client, member(role))

    content = client.get("/admin/").content.decode()

    all_links = [
        "Register a walk-in patient",
        "Book for a phone caller",
        "Check a patient in",
        "Today's queue",
    ]
    assert [text for text in all_links if text in content] == shown
    assert ("Today at the desk" in content) is bool(shown)


def test_ops_see_closures_and_not_the_lock_out_records(client, db):
    sign_in_verified(client, member(OPS))

    content = client.get("/admin/").content.decode()

    assert "/admin/booking/closure/" in content
    assert "/admin/axes/" not in content
    assert "/admin/otp_totp/" not in content
    assert client.get("/admin/axes/accessattempt/").status_code == 403


def test_a_doctor_sees_only_their_own_sessions(client, db):
    doctor_user = member(DOCTOR)
    own = SessionFactory(doctor=DoctorFactory(account=doctor_user))
    other = SessionFactory()
    sign_in_verified(client, doctor_user)

    listing = client.get(reverse("admin:clinics_session_changelist"))

    assert [s.pk for s in listing.context["cl"].result_list] == [own.pk]
    assert client.get(reverse("admin:clinics_session_change", args=[other.pk])).status_code in (
        302,
        404,
    )
    assert client.get(reverse("admin:clinics_session_change", args=[own.pk])).status_code == 200


def test_ops_see_every_session(client, db):
    first, second = SessionFactory(), SessionFactory()
    sign_in_verified(client, member(OPS))

    listing = client.get(reverse("admin:clinics_session_changelist"))

    assert {s.pk for s in listing.context["cl"].result_list} == {first.pk, second.pk}


def test_the_sign_pages_need_the_print_permission(client, db):
    session = SessionFactory(status="stopped")
    sign_in_verified(client, member(FRONT_DESK))
    refused = client.get(f"/signs/session/{session.pk}")
    client.logout()
    sign_in_verified(client, member(OPS))
    allowed = client.get(f"/signs/session/{session.pk}")

    assert refused.status_code == 403  # signed in: refused, not sent round to sign in
    assert allowed.status_code == 200
