"""Staff roles: the one list of what each group may do.

Three groups: `front_desk` (the windows: walk-ins, phone bookings, check-in, the queue,
the day's bookings), `ops` (schedules, sessions, channels, notices, stops) and `doctor`
(read only: their own sessions and today's list). Migration 0001_roles writes these
groups from this list (`roles_sync`); a test holds the two equal.

No role may write the second-factor devices, the lock-out records or the periodic tasks:
those are the superusers' alone. ops may read the periodic tasks and the audit log.
"""

from collections.abc import Iterable

FRONT_DESK = "front_desk"
OPS = "ops"
DOCTOR = "doctor"


def _model(app_label: str, model: str, actions: Iterable[str]) -> list[str]:
    return [f"{app_label}.{action}_{model}" for action in actions]


_VIEW = ("view",)
_WRITE = ("add", "change", "view")

ROLES: dict[str, frozenset[str]] = {
    FRONT_DESK: frozenset(
        [
            "frontdesk.book_walkin",
            "frontdesk.book_phone",
            "frontdesk.check_in",
            "frontdesk.run_queue",
            "frontdesk.add_extra_place",
            "frontdesk.view_queueticket",
            *_model("booking", "booking", ("view", "change")),
            *_model("patients", "patient", _WRITE),
            *_model("clinics", "session", _VIEW),
            *_model("clinics", "slot", _VIEW),
            *_model("clinics", "quota", _VIEW),
            *_model("clinics", "department", _VIEW),
            *_model("clinics", "doctor", _VIEW),
            *_model("clinics", "room", _VIEW),
        ]
    ),
    OPS: frozenset(
        [
            *_model("clinics", "department", _WRITE),
            *_model("clinics", "doctor", _WRITE),
            *_model("clinics", "room", _WRITE),
            *_model("clinics", "scheduletemplate", _WRITE),
            *_model("clinics", "session", _WRITE),
            *_model("clinics", "slot", _WRITE),
            *_model("clinics", "quota", _WRITE),
            *_model("clinics", "capacitychange", _WRITE),
            "clinics.stop_session",
            *_model("booking", "closure", _WRITE),
            *_model("booking", "notice", _WRITE),
            *_model("booking", "bookingpolicy", _WRITE),
            "booking.print_sign",
            *_model("booking", "booking", _VIEW),
            *_model("auditlog", "logentry", _VIEW),
            *_model("django_celery_beat", "periodictask", _VIEW),
            *_model("django_celery_beat", "periodictasks", _VIEW),
            *_model("django_celery_beat", "intervalschedule", _VIEW),
            *_model("django_celery_beat", "crontabschedule", _VIEW),
            *_model("django_celery_beat", "solarschedule", _VIEW),
            *_model("django_celery_beat", "clockedschedule", _VIEW),
        ]
    ),
    DOCTOR: frozenset(["clinics.view_session", "frontdesk.view_queueticket"]),
}

# Apps whose tables no role may write (superusers only); ops read django_celery_beat.
SUPERUSER_ONLY_APPS = ("otp_totp", "otp_static", "axes", "django_celery_beat", "auth")


def roles_sync(*, group_model, permission_model) -> None:
    """Make each role's group hold exactly its permissions from ROLES.

    Takes the models so the migration can pass its historical ones. Every permission
    named must exist (create_permissions has run): a missing one is a bug in this list,
    and fails loudly rather than granting less than the list says.
    """
    for role, perms in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for perm in sorted(perms):
            app_label, codename = perm.split(".", 1)
            wanted.append(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
