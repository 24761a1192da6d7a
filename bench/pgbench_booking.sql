-- The database floor: the irreducible work of one booking, as one transaction.
-- A conditional quota UPDATE (the place is taken only if one is left), the session's
-- queue-number counter (a booking needs its 序号), a booking-like INSERT and an
-- outbox-like INSERT (the confirmation, in the same transaction). On scratch copies of
-- the real tables (bench_pg_*: same columns, indexes and checks), made and emptied by
-- bench/run.py; capacities there are huge, so every transaction books.
\set q random(1, :nquota)
BEGIN;
UPDATE bench_pg_quota SET booked = booked + 1
  WHERE id = :q AND booked < capacity - held
  RETURNING slot_id, session_id \gset
UPDATE bench_pg_session SET last_queue_number = last_queue_number + 1
  WHERE id = :session_id
  RETURNING last_queue_number, department_id, to_char(date, 'YYYYMMDD') AS visit_day \gset
INSERT INTO bench_pg_booking (code, queue_number, patient_id, slot_id, session_id,
    department_id, visit_date, channel, status, booked_by, requested_by_id,
    idempotency_key, created_at, updated_at, cancel_reason, status_note)
  VALUES ('P' || nextval('bench_pg_seq'), :last_queue_number, nextval('bench_pg_seq'),
    :slot_id, :session_id, :department_id, to_date(':visit_day', 'YYYYMMDD'), 'online',
    'confirmed', 'patient', 1, md5(random()::text), now(), now(), '', '')
  RETURNING id AS booking_id \gset
INSERT INTO bench_pg_outbox (kind, dedupe_key, channel, recipient, language, context,
    status, urgent, due_at, attempts, delivered_via, provider_reference, last_error,
    created_at)
  VALUES ('booking_confirmed', 'booking:' || :booking_id || ':booking_confirmed', 'sms',
    '13900000000', 'zh-hans', '{}', 'pending', false, now(), 0, '', '', '', now());
END;
