"""Data and measurement commands for the peer site; run with the peer venv's Python.

    peerctl.py seed FIXTURE.json          wipe and seed the data set, write the load targets
    peerctl.py prepare-round FIXTURE N OUT.json
                                          drop bookings made by earlier rounds, open N client sessions
    peerctl.py queries FIXTURE.json       SQL queries per request (listing, booking steps)
    peerctl.py overbooked                 appointments above one per (staff member, date, start time)

Everything goes through the package's models, so the data is what its admin would have made.
"""

import datetime
import json
import os
import random
import string
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")

import django

django.setup()

from appointment.models import (  # noqa: E402
    Appointment,
    AppointmentRequest,
    Config,
    Service,
    StaffMember,
    WorkingHours,
)
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

STAFF = 40
CLIENTS = 3000
DAYS = 14
SLOT_MINUTES = 20
DAY_START = datetime.time(8, 0)
DAY_END = datetime.time(17, 0)
PREBOOKED_SHARE = 0.3  # share of each working day's slots already taken before the run
SERVICES = [
    "Visual acuity and refraction",
    "Glaucoma check",
    "Cataract consultation",
    "Retina examination",
    "Dry eye clinic",
    "Paediatric ophthalmology",
    "Contact lens fitting",
    "Diabetic retinopathy screening",
    "Cornea clinic",
    "Post-operative review",
]
WORKDAYS = (1, 2, 3, 4, 5, 6)  # the package counts 0 = Sunday .. 6 = Saturday
APP_TABLES = [
    "appointment_appointment",
    "appointment_appointmentrequest",
    "appointment_appointmentreschedulehistory",
    "appointment_paymentinfo",
    "appointment_emailverificationcode",
    "appointment_passwordresettoken",
    "appointment_dayoff",
    "appointment_unavailability",
    "appointment_workinghours",
    "appointment_staffmember_services_offered",
    "appointment_staffmember",
    "appointment_service",
    "appointment_config",
    "django_session",
    "django_admin_log",
    "auth_user_groups",
    "auth_user_user_permissions",
    "auth_user",
]


def _pkg_weekday(day: datetime.date) -> int:
    return (day.weekday() + 1) % 7


def _rid() -> str:
    return "".join(random.choices(string.ascii_letters + string.digits, k=20))  # noqa: S311


def seed(fixture_path: str) -> None:
    """Wipe the peer tables and lay a clinic-sized data set; write what the load needs."""
    rng = random.Random(20260)  # noqa: S311
    random.seed(20260)
    existing = {t.name for t in connection.introspection.get_table_list(connection.cursor())}
    tables = ", ".join(t for t in APP_TABLES if t in existing)
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")

    Config(
        slot_duration=SLOT_MINUTES,
        lead_time=DAY_START,
        finish_time=DAY_END,
        appointment_buffer_time=0,
        website_name="Peer bench",
    ).save()
    services = Service.objects.bulk_create(
        Service(name=name, duration=datetime.timedelta(minutes=SLOT_MINUTES), price=0)
        for name in SERVICES
    )
    # Unusable passwords: clients are signed in by session (prepare-round), not by a login form.
    staff_users = User.objects.bulk_create(
        User(
            username=f"doctor{i:02d}",
            email=f"doctor{i:02d}@clinic.example",
            first_name=f"Doctor{i:02d}",
            last_name="Eye",
            password="!",  # noqa: S106 (unusable: sessions are opened directly)
            is_staff=True,
        )
        for i in range(STAFF)
    )
    staff = StaffMember.objects.bulk_create(
        StaffMember(
            user=u,
            slot_duration=SLOT_MINUTES,
            lead_time=DAY_START,
            finish_time=DAY_END,
            appointment_buffer_time=0,
            work_on_saturday=True,
            work_on_sunday=False,
        )
        for u in staff_users
    )
    offers = []
    staff_services = {}
    for i, sm in enumerate(staff):
        mine = [services[i % len(services)], services[(i * 3 + 1) % len(services)]]
        mine = list({s.id: s for s in mine}.values())
        staff_services[sm.id] = [s.id for s in mine]
        offers += [
            StaffMember.services_offered.through(staffmember_id=sm.id, service_id=s.id)
            for s in mine
        ]
    StaffMember.services_offered.through.objects.bulk_create(offers)
    WorkingHours.objects.bulk_create(
        WorkingHours(staff_member=sm, day_of_week=d, start_time=DAY_START, end_time=DAY_END)
        for sm in staff
        for d in WORKDAYS
    )
    clients = User.objects.bulk_create(
        User(
            username=f"client{i:05d}",
            email=f"client{i:05d}@patients.example",
            first_name=f"Client{i:05d}",
            last_name="Patient",
            password="!",  # noqa: S106
        )
        for i in range(CLIENTS)
    )

    today = timezone.localdate()
    dates = [today + datetime.timedelta(days=n) for n in range(1, DAYS + 1)]
    day_slots = []
    t = datetime.datetime.combine(today, DAY_START)
    while (t + datetime.timedelta(minutes=SLOT_MINUTES)).time() <= DAY_END:
        day_slots.append(t.time())
        t += datetime.timedelta(minutes=SLOT_MINUTES)
    targets = []
    requests = []
    for sm in staff:
        for day in dates:
            if _pkg_weekday(day) not in WORKDAYS:
                continue
            targets.append(
                {"staff": sm.id, "service": staff_services[sm.id][0], "date": day.isoformat()}
            )
            for start in rng.sample(day_slots, int(len(day_slots) * PREBOOKED_SHARE)):
                end = (
                    datetime.datetime.combine(day, start) + datetime.timedelta(minutes=SLOT_MINUTES)
                ).time()
                requests.append(
                    AppointmentRequest(
                        date=day,
                        start_time=start,
                        end_time=end,
                        service_id=rng.choice(staff_services[sm.id]),
                        staff_member=sm,
                        id_request=_rid(),
                    )
                )
    requests = AppointmentRequest.objects.bulk_create(requests, batch_size=2000)
    Appointment.objects.bulk_create(
        (
            Appointment(
                client=rng.choice(clients),
                appointment_request=ar,
                phone="+8613800138000",
                amount_to_pay=0,
                id_request=_rid(),
            )
            for ar in requests
        ),
        batch_size=2000,
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    fixture = {
        "seeded_on": today.isoformat(),
        "seed_max_request_id": max(ar.id for ar in requests),
        "targets": targets,
        "client_ids": [c.id for c in clients],
        "counts": {
            "staff": len(staff),
            "services": len(services),
            "clients": len(clients),
            "working_days": len(targets),
            "slots_per_day": len(day_slots),
            "prebooked": len(requests),
        },
    }
    Path(fixture_path).write_text(json.dumps(fixture))
    print(json.dumps(fixture["counts"]))


def prepare_round(fixture_path: str, n: int, out_path: str) -> None:
    """Remove bookings made by earlier rounds and open n signed-in client sessions."""
    fixture = json.loads(Path(fixture_path).read_text())
    AppointmentRequest.objects.filter(id__gt=fixture["seed_max_request_id"]).delete()
    SessionStore.get_model_class().objects.all().delete()
    users = User.objects.filter(id__in=random.sample(fixture["client_ids"], n))
    sessions = []
    for u in users:
        s = SessionStore()
        s[SESSION_KEY] = str(u.pk)
        s[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        s[HASH_SESSION_KEY] = u.get_session_auth_hash()
        s.create()
        sessions.append({"sessionid": s.session_key, "email": u.email, "name": u.get_full_name()})
    Path(out_path).write_text(json.dumps(sessions))


def _signed_in_client(fixture: dict) -> Client:
    client = Client()
    client.force_login(User.objects.get(id=fixture["client_ids"][0]))
    return client


def _expect(resp, status: int, location: str = "") -> None:
    if resp.status_code != status or location not in resp.get("Location", ""):
        raise SystemExit(f"unexpected answer {resp.status_code} {resp.get('Location', '')}")


def queries(fixture_path: str) -> None:
    """Count the SQL of one listing request and of each booking step, after one warm-up."""
    fixture = json.loads(Path(fixture_path).read_text())
    client = _signed_in_client(fixture)
    ajax = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
    out = {}
    target = fixture["targets"][0]
    params = {
        "selected_date": target["date"],
        "staff_member": target["staff"],
        "service_id": target["service"],
    }
    url = "/appointment/ajax/available_slots/"
    client.get(url, params, **ajax)  # warm the package's Config cache
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url, params, **ajax)
    _expect(resp, 200)
    out["listing"] = len(ctx)
    slots = resp.json()["available_slots"]
    start = datetime.datetime.fromisoformat(slots[0][0])
    end = start + datetime.timedelta(minutes=SLOT_MINUTES)
    form = {
        "date": target["date"],
        "start_time": start.strftime("%H:%M"),
        "end_time": end.strftime("%H:%M"),
        "service": target["service"],
        "staff_member": target["staff"],
    }
    with CaptureQueriesContext(connection) as ctx:
        resp = client.post("/appointment/request-submit/", form)
    _expect(resp, 302, "/client-info/")
    out["booking_submit"] = len(ctx)
    info = {
        "name": "Client Patient",
        "email": "ignored@patients.example",
        "phone_0": "CN",
        "phone_1": "13800138000",
        "address": "Beijing",
        "additional_info": "",
        "payment_type": "full",
    }
    with CaptureQueriesContext(connection) as ctx:
        resp = client.post(resp["Location"], info)
    _expect(resp, 302, "/thank-you/")
    out["booking_client_info"] = len(ctx)
    out["booking_flow"] = out["listing"] + out["booking_submit"] + out["booking_client_info"]
    AppointmentRequest.objects.filter(id__gt=fixture["seed_max_request_id"]).delete()
    print(json.dumps(out))


def overbooked() -> None:
    """Appointments beyond the first in each single-person slot (staff member, date, start time)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT count(*), coalesce(sum(n - 1), 0)
            FROM (
                SELECT count(*) AS n
                FROM appointment_appointment a
                JOIN appointment_appointmentrequest r ON r.id = a.appointment_request_id
                GROUP BY r.staff_member_id, r.date, r.start_time
                HAVING count(*) > 1
            ) s
            """
        )
        slots, extra = cur.fetchone()
        cur.execute("SELECT count(*) FROM appointment_appointment")
        (total,) = cur.fetchone()
    print(
        json.dumps(
            {"overbooked": int(extra), "overbooked_slots": int(slots), "appointments": total}
        )
    )


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "seed":
        seed(args[0])
    elif cmd == "prepare-round":
        prepare_round(args[0], int(args[1]), args[2])
    elif cmd == "queries":
        queries(args[0])
    elif cmd == "overbooked":
        overbooked()
    else:
        sys.exit(f"unknown command {cmd}")
