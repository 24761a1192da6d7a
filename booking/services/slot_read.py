"""The booking's one read of its slot, as SQL written once per database backend.

Every booking attempt starts here, and at the release minute most attempts end here
(sold out). Built by the ORM (select_related of four tables, a subquery and `Exists`)
this read cost 1.8 ms of Python per request to compile, against 0.1 ms to run the same
statement; so the statement is composed once from the models' own table and column
names, and the rows are turned into model instances with each field's database
converters, as the ORM would (`bench/explain.py` shows its plan).
"""

from functools import cache

from django.db import connection

from booking.models import Booking
from clinics.models import Department, Doctor, Quota, Room, Session, Slot

# (alias, model, how it joins the slot)
_TABLES = (
    ("sl", Slot, ""),
    ("se", Session, "JOIN {table} se ON se.id = sl.session_id"),
    ("doc", Doctor, "JOIN {table} doc ON doc.id = se.doctor_id"),
    ("ro", Room, "LEFT JOIN {table} ro ON ro.id = se.room_id"),
    ("dep", Department, "JOIN {table} dep ON dep.id = se.department_id"),
)


@cache
def _statement(vendor: str) -> tuple[str, tuple]:
    """The SQL and, per table, (alias, model, attnames, (column, converters) per column)."""
    quote = connection.ops.quote_name
    columns, joins, parts = [], [], []
    for alias, model, join in _TABLES:
        fields = model._meta.concrete_fields
        columns += [f"{alias}.{quote(field.column)}" for field in fields]
        if join:
            joins.append(join.format(table=quote(model._meta.db_table)))
        converters = []
        for field in fields:
            col = field.get_col(alias)
            found = [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]
            converters.append((col, tuple(found)))
        parts.append((alias, model, [field.attname for field in fields], converters))
    quota, booking = quote(Quota._meta.db_table), quote(Booking._meta.db_table)
    # Every name comes from the models, every value is a parameter.
    sql = (
        f"SELECT {', '.join(columns)}, "  # noqa: S608
        f"(SELECT q.capacity - q.booked - q.held FROM {quota} q "
        " WHERE q.slot_id = sl.id AND q.channel = %s), "
        f"EXISTS (SELECT 1 FROM {booking} b WHERE b.requested_by_id = %s"
        " AND b.idempotency_key = %s) "
        f"FROM {quote(Slot._meta.db_table)} sl {' '.join(joins)} WHERE sl.id = %s"
    )
    return sql, tuple(parts)


def slot_for_booking(*, slot_id: int, channel: str, requested_by_id: int, key: str) -> Slot:
    """The slot with its session (doctor, room, department) loaded, `places_left` in
    `channel` (None without a quota row) and `replayed` (this account already used
    `key`). One statement. Raises Slot.DoesNotExist."""
    sql, parts = _statement(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [channel, requested_by_id, key, slot_id])
        row = cursor.fetchone()
    if row is None:
        raise Slot.DoesNotExist(f"no slot {slot_id}")
    loaded = {}
    at = 0
    for alias, model, attnames, converters in parts:
        values = []
        for value, (col, field_converters) in zip(
            row[at : at + len(attnames)], converters, strict=True
        ):
            for convert in field_converters:
                value = convert(value, col, connection)
            values.append(value)
        at += len(attnames)
        loaded[alias] = (
            None if values[0] is None else model.from_db(connection.alias, attnames, values)
        )
    session = loaded["se"]
    session.doctor = loaded["doc"]
    session.room = loaded["ro"]
    session.department = loaded["dep"]
    slot = loaded["sl"]
    slot.session = session
    slot.places_left = row[at]
    slot.replayed = bool(row[at + 1])
    return slot
