"""A deliberately wrong booking, to show the overbooking check catches one.

Read the quota, check `booked < capacity` in Python, write back `booked = read + 1` and
insert the booking: no lock, no conditional UPDATE. Two requests that read the same
`booked` both succeed and one place is sold twice (a lost update). Served only by
bench.settings (bench/urls.py); never in production URLs.
"""

import json
import uuid

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def naive_book(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body)
    patient_id, slot_id = int(body["patient"]), int(body["slot"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT q.id, q.booked, q.capacity, q.held, s.session_id, se.department_id, se.date "
            "FROM clinics_quota q JOIN clinics_slot s ON s.id = q.slot_id "
            "JOIN clinics_session se ON se.id = s.session_id "
            "WHERE q.slot_id = %s AND q.channel = 'online'",
            [slot_id],
        )
        quota_id, booked, capacity, held, session_id, department_id, day = cursor.fetchone()
    if booked >= capacity - held:
        return JsonResponse({"code": "slot_full", "detail": "full"}, status=409)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE clinics_quota SET booked = %s WHERE id = %s", [booked + 1, quota_id])
        cursor.execute(
            "INSERT INTO booking_booking (code, queue_number, patient_id, slot_id, session_id, "
            "department_id, visit_date, channel, status, booked_by, requested_by_id, "
            "idempotency_key, created_at, updated_at, cancel_reason, status_note) "
            "SELECT %s, nextval('bench_naive_queue'), p.id, %s, %s, %s, %s, 'online', "
            "'confirmed', 'patient', p.account_id, %s, now(), now(), '', '' "
            "FROM patients_patient p WHERE p.id = %s RETURNING id",
            [
                uuid.uuid4().hex[:12],
                slot_id,
                session_id,
                department_id,
                day,
                uuid.uuid4().hex,
                patient_id,
            ],
        )
        booking_id = cursor.fetchone()[0]
    return JsonResponse({"id": booking_id}, status=201)
