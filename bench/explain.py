"""The plans of the booking's statements on the benchmark's data, to confirm its indexes.

Books one place through `booking_create` (and refuses one sold-out slot) inside a
transaction that is rolled back, captures every statement, and prints each with
PostgreSQL's plan (EXPLAIN ANALYZE, run inside the same rolled-back transaction; writes are planned only). A
sequential scan of a large table is flagged. Run after `python -m bench.run` has loaded
the data (`DATABASE_URL` of the benchmark's database):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yuyue_bench python -m bench.explain
"""

import contextlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from booking import services  # noqa: E402
from booking.exceptions import SlotFull  # noqa: E402
from booking.rules import check_bookable  # noqa: E402, F401  (the rules the plans serve)
from clinics.models import Channel, Quota  # noqa: E402
from patients.models import Patient  # noqa: E402

LARGE = ("booking_booking", "patients_patient", "patients_account", "clinics_slot")


class Rollback(Exception):
    pass


def _statements() -> list[str]:
    now = timezone.now()
    quota = (
        Quota.objects.filter(
            channel=Channel.ONLINE,
            capacity__gt=0,
            slot__starts_at__gt=now + timezone.timedelta(days=1),
            slot__session__status="open",
        )
        .select_related("slot")
        .order_by("slot__starts_at")
        .first()
    )
    patient = Patient.objects.select_related("account").order_by("?").first()
    captured: list[str] = []
    try:
        with transaction.atomic():
            with CaptureQueriesContext(connection) as queries:
                services.booking_create(
                    patient=patient,
                    slot=quota.slot,
                    channel=Channel.ONLINE,
                    requested_by=patient.account,
                    idempotency_key="bench-explain",
                )
                Quota.objects.filter(pk=quota.pk).update(booked=quota.capacity)
                with contextlib.suppress(SlotFull):
                    services.booking_create(
                        patient=patient,
                        slot=quota.slot,
                        channel=Channel.ONLINE,
                        requested_by=patient.account,
                        idempotency_key="bench-explain-2",
                    )
            captured = [q["sql"] for q in queries.captured_queries]
            with connection.cursor() as cursor:
                for sql in captured:
                    head = sql.split()[0].upper()
                    if head in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
                        continue
                    # Writes are planned, not run again (a second INSERT would collide).
                    options = "ANALYZE, COSTS OFF" if head == "SELECT" else "COSTS OFF"
                    cursor.execute(f"EXPLAIN ({options}) " + sql)
                    plan = [row[0] for row in cursor.fetchall()]
                    _print(sql, plan)
            raise Rollback
    except Rollback:
        pass
    return captured


def _print(sql: str, plan: list[str]) -> None:
    print("-" * 100)
    print(sql[:300] + (" …" if len(sql) > 300 else ""))
    for line in plan:
        flag = ""
        if "Seq Scan" in line and any(f" on {table} " in line + " " for table in LARGE):
            flag = "   <-- sequential scan of a large table"
        print("   " + line + flag)


def main() -> int:
    statements = _statements()
    print("-" * 100)
    print(f"{len(statements)} statements captured (a booking, then a sold-out refusal)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
