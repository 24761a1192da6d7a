"""A backup is proven by its restore: scripts/backup.sh then scripts/restore.sh.

Real bookings (one cancelled, with their outbox messages, reminders and held place) are
committed to the test database, dumped, restored into a scratch database, and every
table's row count and a checksum of the bookings and the outbox must come back the same.
The scripts are run as `make backup` / `make restore` run them.
"""

import datetime
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import psycopg2
import pytest
import time_machine
from django.db import connection
from psycopg2 import sql

from booking.models import Booking
from booking.services import booking_cancel, booking_create
from clinics.models import Channel
from notifications.models import OutboxMessage
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
# Every column of every row, in id order: any lost or changed value changes the sum.
CHECKSUMS = {
    "booking_booking": "select md5(string_agg(t::text, '|' order by t.id)) from booking_booking t",
    "notifications_outboxmessage": (
        "select md5(string_agg(t::text, '|' order by t.id)) from notifications_outboxmessage t"
    ),
}


def database_url(name: str) -> str:
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    return f"postgresql://{user}{password}@{host}:{db['PORT'] or 5432}/{name}"


def run(script: str, **env: str) -> subprocess.CompletedProcess:
    """Run a script with only the environment it is given (and PATH), from the repo."""
    return subprocess.run(  # noqa: S603 (our own scripts)
        ["/bin/sh", str(ROOT / "scripts" / script)],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "ENV_FILE": "/nonexistent", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def inventory(url: str) -> dict[str, object]:
    """Row count of every table in the public schema, and the checksums."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("select tablename from pg_tables where schemaname = 'public' order by 1")
        tables = [row[0] for row in cur.fetchall()]
        found: dict[str, object] = {}
        for table in tables:
            cur.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(table)))
            found[table] = cur.fetchone()[0]
        for name, query in CHECKSUMS.items():
            cur.execute(query)
            found[f"md5 {name}"] = cur.fetchone()[0]
    conn.close()
    return found


def seed() -> None:
    """Three bookings through the booking service, one of them cancelled by its patient."""
    tomorrow = NOW.date() + datetime.timedelta(days=1)
    session = factories.SessionFactory(
        date=tomorrow,
        starts_at=datetime.datetime.combine(tomorrow, datetime.time(8, 0), tzinfo=SHANGHAI),
    )
    slot = factories.slot_with_quotas(session=session, online=3, walkin=1)
    later = factories.slot_with_quotas(
        session=session, starts_at=session.starts_at + datetime.timedelta(minutes=30), online=3
    )
    bookings = [
        booking_create(
            patient=patient, slot=where, channel=Channel.ONLINE, requested_by=patient.account
        )
        for patient, where in (
            (factories.PatientFactory(), slot),
            (factories.PatientFactory(), slot),
            (factories.PatientFactory(), later),
        )
    ]
    cancelled = bookings[1]
    booking_cancel(booking=cancelled, requested_by=cancelled.patient.account, reason="ill")


@pytest.fixture
def scratch_database():
    """A database name of our own beside the test database, dropped at the end."""
    base = connection.settings_dict["NAME"].removeprefix("test_")
    name = f"{base}_restore"
    admin = database_url("postgres")

    def drop() -> None:
        conn = psycopg2.connect(admin)
        conn.autocommit = True
        with conn.cursor() as cur:
            query = sql.SQL("drop database if exists {} with (force)")
            cur.execute(query.format(sql.Identifier(name)))
        conn.close()

    drop()
    yield name
    drop()


needs_client_tools = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pg_dump", "pg_restore", "psql")),
    reason="needs PostgreSQL's client tools pg_dump, pg_restore and psql (postgresql-client)",
)


@pytest.mark.postgres
@needs_client_tools
@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_every_row(tmp_path, scratch_database):
    with time_machine.travel(NOW, tick=False):
        seed()
    assert Booking.objects.filter(status=Booking.Status.CANCELLED_BY_PATIENT).count() == 1
    assert OutboxMessage.objects.count() >= 4
    source = database_url(connection.settings_dict["NAME"])
    target = database_url(scratch_database)
    dump = tmp_path / "yuyue.dump"

    backup = run("backup.sh", DATABASE_URL=source, BACKUP_FILE=str(dump))
    assert backup.returncode == 0, backup.stderr
    assert f"{dump} ({dump.stat().st_size} bytes" in backup.stdout
    assert dump.stat().st_mode & 0o077 == 0, "a dump of patients' data is its owner's only"

    restore = run("restore.sh", BACKUP_FILE=str(dump), RESTORE_DATABASE_URL=target)
    assert restore.returncode == 0, restore.stderr
    assert f"creating database {scratch_database}" in restore.stdout
    assert re.search(r"^booking_booking +3$", restore.stdout, re.MULTILINE), restore.stdout

    before, after = inventory(source), inventory(target)
    assert after == before
    assert before["booking_booking"] == 3 and before["md5 booking_booking"]

    # The scratch database is not empty now: a second restore refuses and changes nothing.
    again = run("restore.sh", BACKUP_FILE=str(dump), RESTORE_DATABASE_URL=target)
    assert again.returncode != 0
    assert "refusing to overwrite" in again.stderr and "FORCE=1" in again.stderr
    assert inventory(target) == before

    forced = run("restore.sh", BACKUP_FILE=str(dump), RESTORE_DATABASE_URL=target, FORCE="1")
    assert forced.returncode == 0, forced.stderr
    assert f"dropping database {scratch_database}" in forced.stdout
    assert inventory(target) == before


def test_backup_refuses_a_database_that_is_not_postgresql(tmp_path):
    dump = tmp_path / "yuyue.dump"

    result = run("backup.sh", DATABASE_URL="sqlite:///db.sqlite3", BACKUP_FILE=str(dump))

    assert result.returncode != 0
    assert "not PostgreSQL" in result.stderr
    assert not dump.exists()


@needs_client_tools
def test_restore_refuses_a_file_that_is_not_a_dump(tmp_path):
    bogus = tmp_path / "bogus.dump"
    bogus.write_text("not a dump")

    result = run(
        "restore.sh",
        BACKUP_FILE=str(bogus),
        RESTORE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/yuyue_never_created",
    )

    assert result.returncode != 0
    assert "not a pg_dump custom-format archive" in result.stderr
