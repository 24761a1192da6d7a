"""Measure booking throughput and latency against a baseline in the same run.

Not a test: it prints figures. The baseline is the irreducible database work of a
booking (one conditional quota UPDATE and one INSERT-like UPDATE in a transaction);
the ratio says how much the rules, locks, queue number and outbox row cost on top.
Run it on a scratch database: `make bench` uses DATABASE_URL or yuyue_bench.
"""

import datetime
import statistics
import threading
import time
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from booking.services import booking_create
from clinics.models import Channel, Department, Doctor, Quota, Room, Session, Slot
from core.errors import YuyueError
from patients.models import Account, Patient


class Command(BaseCommand):
    help = "Benchmark booking_create against a bare conditional-UPDATE baseline."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bookings", type=int, default=1000)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, bookings: int, threads: int, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_booking measures PostgreSQL: set DATABASE_URL")
        slots, patients = self._fixture(bookings)
        quota_ids = list(
            Quota.objects.filter(slot__in=slots, channel=Channel.ONLINE).values_list(
                "pk", flat=True
            )
        )

        def baseline(i: int) -> None:
            with transaction.atomic():
                Quota.objects.filter(
                    pk=quota_ids[i % len(quota_ids)], booked__lt=F("capacity")
                ).update(booked=F("booked") + 1)
                Session.objects.filter(pk=slots[0].session_id).update(
                    last_queue_number=F("last_queue_number")
                )

        def book(i: int) -> None:
            patient = patients[i]
            booking_create(
                patient=patient,
                slot=slots[i % len(slots)],
                channel=Channel.ONLINE,
                requested_by=patient.account,
                idempotency_key=f"bench-{i}",
            )

        # Interleave rounds so machine noise hits both alike.
        results: dict[str, list[tuple[float, list[float]]]] = {"baseline": [], "booking": []}
        half = bookings // 2
        for round_no in range(2):
            offset = round_no * half
            results["baseline"].append(self._run(baseline, range(offset, offset + half), threads))
            Quota.objects.filter(pk__in=quota_ids).update(booked=0)
            results["booking"].append(self._run(book, range(offset, offset + half), threads))
        self._report(results, threads)
        self._cleanup()

    def _run(self, call: Callable[[int], None], items: range, threads: int):
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        queue = list(items)

        def worker() -> None:
            nonlocal errors
            while True:
                with lock:
                    if not queue:
                        break
                    item = queue.pop()
                started = time.perf_counter()
                try:
                    call(item)
                except YuyueError:
                    errors += 1
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
            connection.close()

        started = time.perf_counter()
        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        wall = time.perf_counter() - started
        if errors:
            self.stderr.write(f"{errors} refusals during the run")
        return len(latencies) / wall, latencies

    def _report(self, results, threads: int) -> None:
        figures = {}
        for name, rounds in results.items():
            latencies = sorted(x for _, lat in rounds for x in lat)
            rate = statistics.mean(r for r, _ in rounds)
            p50 = latencies[len(latencies) // 2] * 1000
            p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
            figures[name] = rate
            self.stdout.write(
                f"{name:9s} {rate:8.0f}/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   ({len(latencies)} calls, {threads} threads)"
            )
        self.stdout.write(
            f"booking_create runs at {figures['booking'] / figures['baseline']:.0%} of the bare-UPDATE baseline"
        )

    def _fixture(self, bookings: int) -> tuple[list[Slot], list[Patient]]:
        self._cleanup()
        department = Department.objects.create(code="bench", name_zh_hans="压测", name_en="Bench")
        doctor = Doctor.objects.create(
            department=department, name_zh_hans="压测医生", title="chief", level="expert", fee=1
        )
        room = Room.objects.create(department=department, code="BENCH", name_zh_hans="压测")
        date = timezone.localdate() + datetime.timedelta(days=1)
        start = timezone.make_aware(datetime.datetime.combine(date, datetime.time(8, 0)))
        session = Session.objects.create(
            doctor=doctor,
            department=department,
            room=room,
            date=date,
            half_day="morning",
            level="expert",
            fee=1,
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=4),
        )
        slots = [
            Slot.objects.create(
                session=session,
                starts_at=start + datetime.timedelta(minutes=30 * i),
                ends_at=start + datetime.timedelta(minutes=30 * (i + 1)),
            )
            for i in range(8)
        ]
        Quota.objects.bulk_create(
            Quota(slot=slot, channel=Channel.ONLINE, capacity=bookings) for slot in slots
        )
        accounts = Account.objects.bulk_create(
            Account(username=f"bench{i}", phone=f"1770000{i:04d}") for i in range(bookings)
        )
        patients = Patient.objects.bulk_create(
            Patient(
                account=account,
                real_name="压测",
                document_type="passport",
                document_number=f"B{i:08d}",
                birth_date=datetime.date(1960, 1, 1),
                sex="F",
                medical_record_number=f"B{i:09d}",
            )
            for i, account in enumerate(accounts)
        )
        return slots, patients

    def _cleanup(self) -> None:
        from booking.models import Booking
        from notifications.models import OutboxMessage

        OutboxMessage.objects.filter(account__username__startswith="bench").delete()
        Booking.objects.filter(department__code="bench").delete()
        Patient.objects.filter(account__username__startswith="bench").delete()
        Account.objects.filter(username__startswith="bench").delete()
        Session.objects.filter(department__code="bench").delete()
        Room.objects.filter(code="BENCH").delete()
        Doctor.objects.filter(department__code="bench").delete()
        Department.objects.filter(code="bench").delete()
