# ruff: noqa: S603, S608 - fixed commands; SQL built from our own integer ids
"""The 07:00 rush benchmark (issue 11): the real stack under load, with floors measured in
the same run, interleaved (floor, Yuyue, floor, Yuyue ...), and the overbooking, 5xx,
fairness and confirmation checks after every round.

    .venv/bin/python -m bench.run [--scenario release|steady|all] [--rounds 3]
        [--patients 2000] [--concurrency 64] [--duration 20] [--quick]

See bench/README.md for what each figure means.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import resource
import secrets
import signal
import statistics
import string
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / ".work"
RESULTS = BENCH / "results"
PY = str(ROOT / ".venv" / "bin" / "python")
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
DB = "yuyue_bench"
REDIS_DB = 14
HOLDING = ("confirmed", "checked_in", "completed", "no_show")

PROCS: list[subprocess.Popen] = []


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- processes ---------------------------------------------------------------------


def start(cmd: list[str], env: dict, logfile: Path) -> subprocess.Popen:
    out = open(logfile, "ab")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    PROCS.append(proc)
    return proc


def stop_all() -> None:
    """Each started process group: TERM, then KILL after 8 s."""
    for proc in PROCS:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.time() + 8
    for proc in PROCS:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.time()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    PROCS.clear()


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# --- CPU accounting from /proc -------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _procs() -> dict[int, tuple[int, str, float, float]]:
    """pid -> (ppid, comm, own cpu seconds, reaped children's cpu seconds)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        own = (int(fields[11]) + int(fields[12])) / TICK
        reaped = (int(fields[13]) + int(fields[14])) / TICK
        table[int(entry)] = (int(fields[1]), comm, own, reaped)
    return table


def _tree_cpu(table: dict, root: int) -> float:
    if root not in table:
        return 0.0
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_rest) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, stack = table[root][3], [root]
    while stack:
        pid = stack.pop()
        total += table[pid][2]
        stack.extend(children.get(pid, []))
    return total


def postmaster_pid(table: dict) -> int | None:
    for pid, (ppid, comm, *_r) in table.items():
        if comm == "postgres" and table.get(ppid, (0, ""))[1] != "postgres":
            return pid
    return None


class CpuMeter:
    """CPU seconds of gunicorn, the Celery worker, PostgreSQL (all of the cluster: other
    databases' work counts too) and this process's children (the load generator,
    pgbench) over one measured phase; reported as % of one core."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots

    def snapshot(self) -> dict[str, float]:
        table = _procs()
        snap = {name: _tree_cpu(table, pid) for name, pid in self.roots.items()}
        pm = postmaster_pid(table)
        snap["postgresql"] = _tree_cpu(table, pm) if pm else 0.0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        snap["client"] = usage.ru_utime + usage.ru_stime
        # The whole machine (other people's work too): busy time of all CPUs.
        first = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0]
        cpu = [int(x) for x in first.split()[1:]]
        snap["machine_all_cpus"] = (sum(cpu) - cpu[3] - cpu[4]) / TICK
        snap["wall"] = time.perf_counter()
        return snap

    @staticmethod
    def percent(before: dict, after: dict) -> dict[str, float]:
        wall = max(after["wall"] - before["wall"], 1e-9)
        return {
            name: round(100 * (after[name] - before[name]) / wall, 1)
            for name in before
            if name != "wall"
        }


# --- database -----------------------------------------------------------------------


def pg(dbname: str = DB):
    conn = psycopg2.connect(dbname=dbname, **PG)
    conn.autocommit = True
    return conn


def sql(conn, query: str, params=None) -> list[tuple]:
    with conn.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def prepare_database(env: dict, accounts: int, tokens: int) -> dict:
    admin = pg("postgres")
    sql(
        admin,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
        [DB],
    )
    sql(admin, f"DROP DATABASE IF EXISTS {DB}")
    sql(admin, f"CREATE DATABASE {DB}")
    admin.close()
    log("migrate")
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    log(f"seed: {accounts} accounts, {tokens} tokens")
    seed_file = WORK / "seed.json"
    subprocess.run(
        [
            PY,
            "-m",
            "bench.seed",
            "--accounts",
            str(accounts),
            "--tokens",
            str(tokens),
            "--out",
            str(seed_file),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    conn = pg()
    # Scratch tables of the floor and the naive variant (same shapes as the real ones).
    sql(conn, "CREATE SEQUENCE IF NOT EXISTS bench_naive_queue START 100000")
    sql(conn, "CREATE SEQUENCE IF NOT EXISTS bench_pg_seq")
    sql(conn, "CREATE TABLE bench_pg_booking (LIKE booking_booking INCLUDING ALL)")
    sql(conn, "CREATE TABLE bench_pg_outbox (LIKE notifications_outboxmessage INCLUDING ALL)")
    sql(conn, "CREATE TABLE bench_pg_session (LIKE clinics_session INCLUDING ALL)")
    sql(conn, "INSERT INTO bench_pg_session SELECT * FROM clinics_session")
    conn.close()
    return json.loads(seed_file.read_text())


def reset(conn) -> None:
    """Back to the seeded state: no bookings or messages, quotas and queue counters as
    generated, the cache emptied (the Celery broker's keys are left alone)."""
    sql(
        conn,
        "TRUNCATE booking_booking, booking_heldplace, booking_waitlistentry, "
        "notifications_outboxmessage, notifications_reminder, clinics_capacitychange, "
        "auditlog_logentry CASCADE",
    )
    sql(
        conn,
        "UPDATE clinics_quota q SET booked = 0, held = 0, capacity = o.capacity "
        "FROM bench_quota_orig o WHERE o.id = q.id "
        "AND (q.booked <> 0 OR q.held <> 0 OR q.capacity <> o.capacity)",
    )
    sql(conn, "UPDATE clinics_session SET last_queue_number = 0 WHERE last_queue_number <> 0")
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    keys = list(client.scan_iter(match=":1:*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])


def drain(conn, seconds: float = 15) -> float:
    """Wait until no other connection of the bench database runs a query."""
    started = time.time()
    while time.time() - started < seconds:
        busy = sql(
            conn,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
            [DB],
        )[0][0]
        if not busy:
            break
        time.sleep(0.2)
    return round(time.time() - started, 2)


def prebook_today(conn, seed: dict) -> list[str]:
    """Today's visits to check in during the steady run: the online places of today's
    sessions given to spare patients, written directly (with the quota counters and queue
    numbers kept consistent) because booking_create refuses slots that have started."""
    quotas = sql(
        conn,
        "SELECT q.id, q.slot_id, least(q.capacity, 3), s.session_id, se.department_id, se.date "
        "FROM clinics_quota q JOIN clinics_slot s ON s.id = q.slot_id "
        "JOIN clinics_session se ON se.id = s.session_id "
        "WHERE se.date = %s AND q.channel = 'online' AND q.capacity > 0 "
        "AND NOT (se.id = ANY(%s)) ORDER BY s.session_id, s.starts_at",
        [seed["today"], seed["release_sessions"]],
    )
    spare = iter(
        sql(
            conn,
            "SELECT id, account_id FROM patients_patient WHERE id = ANY(%s) ORDER BY id",
            [seed["spare_patients"]],
        )
    )
    rows, queue, codes_made = [], {}, []
    for _quota_id, slot_id, n, session_id, department_id, day in quotas:
        for _ in range(n):
            person = next(spare, None)
            if person is None:
                break
            queue[session_id] = queue.get(session_id, 0) + 1
            code = f"CK{len(codes_made):06d}"
            codes_made.append(code)
            rows.append(
                (
                    code,
                    queue[session_id],
                    person[0],
                    slot_id,
                    session_id,
                    department_id,
                    day,
                    person[1],
                    f"bench-today-{code}",
                )
            )
    if rows:
        from psycopg2.extras import execute_values

        with conn.cursor() as cursor:
            execute_values(
                cursor,
                "INSERT INTO booking_booking (code, queue_number, patient_id, slot_id, "
                "session_id, department_id, visit_date, requested_by_id, idempotency_key, "
                "channel, status, booked_by, created_at, updated_at, cancel_reason, "
                "status_note) VALUES %s",
                rows,
                template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, 'online', 'confirmed', "
                "'patient', now(), now(), '', '')",
            )
        sql(
            conn,
            "UPDATE clinics_quota q SET booked = b.n FROM (SELECT slot_id, count(*) n "
            "FROM booking_booking GROUP BY slot_id) b WHERE b.slot_id = q.slot_id "
            "AND q.channel = 'online'",
        )
        sql(
            conn,
            "UPDATE clinics_session se SET last_queue_number = b.n FROM (SELECT session_id, "
            "max(queue_number) n FROM booking_booking GROUP BY session_id) b "
            "WHERE b.session_id = se.id",
        )
    return codes_made


def check_integrity(conn, session_ids: list[int] | None = None) -> dict:
    """Overbooking: quotas over capacity, quota counters that disagree with the holding
    bookings, and places sold beyond capacity; fairness in SQL: two places for one
    patient in a session, more than the policy allows per department-day or day."""
    holding = "('" + "','".join(HOLDING) + "')"
    rows = sql(
        conn,
        f"""
        WITH b AS (SELECT slot_id, channel, count(*) n FROM booking_booking
                   WHERE status IN {holding} GROUP BY 1, 2)
        SELECT
          count(*) FILTER (WHERE q.booked > q.capacity - q.held),
          count(*) FILTER (WHERE q.booked <> coalesce(b.n, 0)),
          coalesce(sum(greatest(coalesce(b.n, 0) - (q.capacity - q.held), 0)), 0),
          coalesce(sum(coalesce(b.n, 0)), 0)
        FROM clinics_quota q LEFT JOIN b ON b.slot_id = q.slot_id AND b.channel = q.channel
        """,
    )[0]
    policy = sql(
        conn,
        "SELECT max_per_department_day, max_per_day FROM booking_bookingpolicy LIMIT 1",
    )
    per_dept_day, per_day = policy[0] if policy else (1, 2)
    fair = sql(
        conn,
        f"""
        SELECT
          (SELECT count(*) FROM (SELECT 1 FROM booking_booking WHERE status IN {holding}
             GROUP BY patient_id, session_id HAVING count(*) > 1) x),
          (SELECT count(*) FROM (SELECT 1 FROM booking_booking WHERE status IN {holding}
             AND status <> 'completed' GROUP BY patient_id, department_id, visit_date
             HAVING count(*) > %s) y),
          (SELECT count(*) FROM (SELECT 1 FROM booking_booking WHERE status IN {holding}
             GROUP BY patient_id, visit_date HAVING count(*) > %s) z),
          (SELECT count(*) FROM (SELECT 1 FROM booking_booking WHERE status IN {holding}
             GROUP BY requested_by_id, session_id HAVING count(*) > 1) w)
        """,
        [per_dept_day, per_day],
    )[0]
    return {
        "quotas_over_capacity": rows[0],
        "quota_counter_mismatches": rows[1],
        "overbooked": int(rows[2]),
        "holding_bookings": int(rows[3]),
        "patients_two_places_in_a_session": fair[0],
        "patients_over_department_day_limit": fair[1],
        "patients_over_day_limit": fair[2],
        "accounts_two_places_in_a_session": fair[3],
    }


def confirmations(conn, wait: float = 30) -> dict:
    """Wait up to `wait` s for the worker to send every booking confirmation."""
    started = time.time()
    while True:
        made, sent, pending = sql(
            conn,
            "SELECT count(*), count(*) FILTER (WHERE status = 'sent'), "
            "count(*) FILTER (WHERE status IN ('pending', 'sending')) "
            "FROM notifications_outboxmessage WHERE kind = 'booking_confirmed'",
        )[0]
        if not pending or time.time() - started > wait:
            break
        time.sleep(0.5)
    bookings = sql(
        conn,
        "SELECT count(*) FROM booking_booking WHERE idempotency_key NOT LIKE 'bench-today-%%'",
    )
    return {
        "bookings_made": bookings[0][0],
        "confirmations_enqueued": made,
        "confirmations_sent": sent,
        "confirmations_pending_after_wait": pending,
        "waited_seconds": round(time.time() - started, 1),
    }


# --- floors ---------------------------------------------------------------------------


def pgbench_floor(conn, quota_filter: str, concurrency: int, duration: float) -> dict:
    """The reference booking transaction (bench/pgbench_booking.sql) on scratch copies:
    the same rows, the same concurrency, the same duration."""
    sql(conn, "DROP TABLE IF EXISTS bench_pg_quota")
    sql(
        conn,
        "CREATE TABLE bench_pg_quota AS SELECT row_number() OVER (ORDER BY q.id)::bigint AS id, "
        "q.slot_id, q.channel, 1000000000 AS capacity, 0 AS booked, q.held, s.session_id "
        "FROM clinics_quota q JOIN clinics_slot s ON s.id = q.slot_id "
        f"WHERE q.channel = 'online' AND {quota_filter}",
    )
    sql(conn, "ALTER TABLE bench_pg_quota ADD PRIMARY KEY (id)")
    rows = sql(conn, "SELECT count(*) FROM bench_pg_quota")[0][0]
    sql(conn, "TRUNCATE bench_pg_booking, bench_pg_outbox")
    sql(conn, "UPDATE bench_pg_session SET last_queue_number = 0")
    sql(conn, "ANALYZE bench_pg_quota")
    cmd = [
        "/usr/bin/pgbench",
        "-n",
        "-h",
        PG["host"],
        "-p",
        str(PG["port"]),
        "-U",
        PG["user"],
        "-c",
        str(concurrency),
        "-j",
        "2",
        "-T",
        str(max(1, int(duration))),
        "-f",
        str(BENCH / "pgbench_booking.sql"),
        "-D",
        f"nquota={rows}",
        DB,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    done = sql(conn, "SELECT count(*) FROM bench_pg_booking")[0][0]
    sql(conn, "TRUNCATE bench_pg_booking, bench_pg_outbox")
    return {
        "tx_per_second": tps,
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "transactions": done,
        "quota_rows": rows,
    }


# --- the load generator -----------------------------------------------------------------


def loadgen(name: str, cfg: dict, meter: CpuMeter) -> dict:
    cfg_file, out_file = WORK / f"lg-{name}.json", WORK / f"lg-{name}-out.json"
    cfg_file.write_text(json.dumps(cfg))
    before = meter.snapshot()
    subprocess.run([PY, "-m", "bench.loadgen", str(cfg_file), str(out_file)], cwd=ROOT, check=True)
    after = meter.snapshot()
    result = json.loads(out_file.read_text())
    result["cpu_percent"] = CpuMeter.percent(before, after)
    return result


def sum_labels(result: dict, labels: tuple[str, ...], field: str = "count") -> float:
    return sum(result["endpoints"].get(label, {}).get(field, 0) for label in labels)


def codes(result: dict, labels: tuple[str, ...]) -> dict[str, int]:
    total: dict[str, int] = {}
    for label in labels:
        for code, n in result["endpoints"].get(label, {}).get("codes", {}).items():
            total[code] = total.get(code, 0) + n
    return total


BOOK_LABELS = ("book_api", "book_web")
READ_LABELS = ("sessions_list", "slots_read")


def summarise_yuyue(result: dict) -> dict:
    window = max(result["window_seconds"], 1e-9)
    ok = sum(
        result["endpoints"].get(label, {}).get("statuses", {}).get(s, 0)
        for label in BOOK_LABELS
        for s in ("201", "302")
    )
    refusals = {code: n / window for code, n in codes(result, BOOK_LABELS).items()}
    # The release: the rate at which the places went, from the barrier to the last booking.
    last_ok = max(
        (result["endpoints"].get(label, {}).get("last_ok_end", 0) for label in BOOK_LABELS),
        default=0,
    )
    selling = last_ok if "patients" in result and last_ok > 0 else window
    return {
        "window_seconds": round(window, 2),
        "selling_seconds": round(selling, 2),
        "bookings_ok": ok,
        "bookings_per_second": ok / selling,
        "bookings_per_second_whole_window": ok / window,
        "booking_answers_per_second": sum_labels(result, BOOK_LABELS) / window,
        "refusals_per_second": refusals,
        "availability_reads_per_second": sum_labels(result, READ_LABELS) / window,
        "server_errors": sum(e.get("server_errors", 0) for e in result["endpoints"].values()),
        "no_answer": sum(e.get("client_errors_no_answer", 0) for e in result["endpoints"].values()),
        # Release only: patients still trying when the time limit cut the round short.
        "unfinished_patients": result.get("unfinished_patients", 0),
    }


def fairness(result: dict) -> dict:
    """Did the first to ask win? Success share among the first and last fifth of the
    patients, ordered by when their first booking attempt left."""
    tried = sorted(
        (p for p in result.get("patients", []) if p["first_attempt"] is not None),
        key=lambda p: p["first_attempt"],
    )
    if not tried:
        return {}
    fifth = max(1, len(tried) // 5)

    def share(group: list) -> float:
        return round(sum(1 for p in group if p["outcome"] == "booked") / len(group), 3)

    outcomes: dict[str, int] = {}
    for p in result["patients"]:
        outcomes[p["outcome"]] = outcomes.get(p["outcome"], 0) + 1
    return {
        "success_share_first_fifth": share(tried[:fifth]),
        "success_share_last_fifth": share(tried[-fifth:]),
        "accounts_with_two_bookings": sum(1 for p in result["patients"] if len(p["booked"]) > 1),
        "outcomes": outcomes,
    }


def median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b) -> float | None:
    return a / b if a is not None and b else None


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("release", "steady", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--no-peer", action="store_true", help="skip the peer (django-appointment)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive variant")
    parser.add_argument("--quick", action="store_true", help="~2-minute smoke run")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.patients, args.duration = 1, min(args.patients, 400), 5
    # Ctrl-C, kill and a closed terminal all end in stop_all() (SIGINT is set explicitly:
    # a background job would otherwise inherit it ignored).
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _raise_interrupt)
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        return run(args)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        stop_all()


def run(args) -> int:
    scenarios = ("release", "steady") if args.scenario == "all" else (args.scenario,)
    secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(50))
    database_url = f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{DB}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secret,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        # Every virtual patient comes from 127.0.0.1: the per-address limits are raised.
        "API_RATE_ANON_READ": "1000000/min",
        "API_RATE_BOOKING_WRITE": "1000000/min",
        "YUYUE_SMS_BACKEND": "notifications.backends.FileSMSBackend",
        "YUYUE_SMS_FILE_PATH": str(WORK / "sms.jsonl"),
        # No quiet hours: confirmations go at once whatever the hour of the run.
        "YUYUE_QUIET_HOURS_START": "00:00",
        "YUYUE_QUIET_HOURS_END": "00:00",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    seed_env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "true"}
    started = time.perf_counter()
    seed = prepare_database(seed_env, args.accounts, 2 * args.patients)
    log(f"seeded in {seed['seconds']} s: {seed['counts']}")
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()
    (WORK / "sms.jsonl").unlink(missing_ok=True)
    subprocess.run(
        [PY, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    base = f"http://127.0.0.1:{args.port}"
    gunicorn_cmd = [
        str(ROOT / ".venv/bin/gunicorn"),
        "config.wsgi",
        "-w",
        str(args.workers),
        "-k",
        "gthread",
        "--threads",
        str(args.threads),
        "-b",
        f"127.0.0.1:{args.port}",
        "--backlog",
        "2048",
        "--graceful-timeout",
        "5",
    ]
    gunicorn = start(gunicorn_cmd, env, WORK / "gunicorn.log")
    celery = start(
        [str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "-l", "WARNING", "-c", "2"],
        env,
        WORK / "celery.log",
    )
    wait_healthy(base, gunicorn)
    meter = CpuMeter({"gunicorn": gunicorn.pid, "celery": celery.pid})
    conn = pg()
    log(
        f"stack up on {base} (gunicorn -w {args.workers} -k gthread --threads {args.threads}); "
        "per-address rate limits raised to 1000000/min (all virtual patients come from 127.0.0.1)"
    )
    people = seed["virtual"]
    release_people, steady_people = people[: args.patients], people[args.patients :]
    common = {
        "base": base,
        "concurrency": args.concurrency,
        "department_codes": seed["department_codes"],
    }
    release_cfg = {
        **common,
        "scenario": "release",
        "patients": release_people,
        "book_sessions": seed["release_sessions"],
        "read_sessions": seed["release_sessions"],
        "read_dates": [seed["release_day"], seed["release_day"]],
        "read_level": "expert",
        "max_seconds": max(60.0, args.duration * 6),
    }
    steady_cfg = {
        **common,
        "scenario": "steady",
        "patients": steady_people or release_people,
        "book_sessions": seed["ordinary_sessions"],
        "read_sessions": seed["ordinary_sessions"],
        "read_dates": [seed["today"], seed["window_end"]],
        "duration": args.duration,
    }
    # Warm up: each worker process imports and connects before anything is measured.
    loadgen("warmup", {**common, "scenario": "healthz", "duration": 2}, meter)
    loadgen("warmup-read", {**steady_cfg, "scenario": "steady", "duration": 2}, meter)
    reset(conn)

    rounds: dict[str, list] = {s: [] for s in scenarios}
    for r in range(args.rounds):
        for scenario in scenarios:
            log(f"round {r + 1}/{args.rounds} {scenario}: database floor (pgbench)")
            quota_filter = (
                f"s.session_id IN ({','.join(map(str, seed['release_sessions']))})"
                if scenario == "release"
                else f"s.session_id IN ({','.join(map(str, seed['ordinary_sessions']))})"
            )
            before = meter.snapshot()
            db_floor = pgbench_floor(conn, quota_filter, args.concurrency, args.duration)
            db_floor["cpu_percent"] = CpuMeter.percent(before, meter.snapshot())
            log(f"  pgbench {db_floor['tx_per_second']:.0f} tx/s")
            log(f"round {r + 1}/{args.rounds} {scenario}: framework floor (/healthz)")
            fw = loadgen(
                f"healthz-{r}", {**common, "scenario": "healthz", "duration": args.duration}, meter
            )
            fw_rate = fw["endpoints"]["healthz"]["per_second"]
            log(f"  /healthz {fw_rate:.0f} req/s")
            log(f"round {r + 1}/{args.rounds} {scenario}: Yuyue")
            cfg = release_cfg if scenario == "release" else steady_cfg
            if scenario == "steady":
                cfg = {
                    **cfg,
                    "checkin_codes": prebook_today(conn, seed),
                    "staff_token": seed["staff_token"],
                }
            result = loadgen(f"{scenario}-{r}", {**cfg, "seed": 100 + r}, meter)
            drained = drain(conn)
            integrity = check_integrity(conn)
            sent = confirmations(conn)
            summary = summarise_yuyue(result)
            round_out = {
                "round": r + 1,
                "yuyue": summary,
                "endpoints": result["endpoints"],
                "cpu_percent": result["cpu_percent"],
                "drain_seconds": drained,
                "integrity": integrity,
                "confirmations": sent,
                "fairness": fairness(result) if scenario == "release" else {},
                "steady_mix": result.get("mix"),
                "database_floor": db_floor,
                "framework_floor": {
                    "healthz_per_second": fw_rate,
                    "latency_ms": fw["endpoints"]["healthz"]["latency_ms"],
                    "cpu_percent": fw["cpu_percent"],
                },
            }
            if scenario == "release":
                round_out["alone"] = reads_and_sold_out(conn, seed, release_cfg, args, r, meter)
            slot_full = summary["refusals_per_second"].get("slot_full", 0.0)
            alone = round_out.get("alone", {})
            round_out["ratios"] = {
                "bookings_vs_db_floor": ratio(
                    summary["bookings_per_second"], db_floor["tx_per_second"]
                ),
                "booking_answers_vs_db_floor": ratio(
                    summary["booking_answers_per_second"], db_floor["tx_per_second"]
                ),
                "availability_vs_framework_floor": ratio(
                    summary["availability_reads_per_second"], fw_rate
                ),
                "slot_full_refusals_vs_framework_floor": ratio(slot_full, fw_rate),
                # Each alone at the same concurrency, as the targets are stated.
                "availability_alone_vs_framework_floor": ratio(
                    alone.get("reads", {}).get("per_second"), fw_rate
                ),
                "sold_out_alone_vs_framework_floor": ratio(
                    alone.get("sold_out", {}).get("per_second"), fw_rate
                ),
            }
            rounds[scenario].append(round_out)
            log(
                f"  {summary['bookings_ok']} booked ({summary['bookings_per_second']:.1f}/s), "
                f"{summary['availability_reads_per_second']:.0f} reads/s, "
                f"5xx {summary['server_errors']}, overbooked {integrity['overbooked']}, "
                f"mismatches {integrity['quota_counter_mismatches']}, "
                f"confirmations {sent['confirmations_sent']}/{sent['confirmations_enqueued']}"
            )
            reset(conn)

    naive = None if args.no_naive else run_naive(conn, seed, base, meter, args)
    peer = None if args.no_peer else run_peer(args)
    out = build_results(args, seed, rounds, naive, peer, started)
    conn.close()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(out, indent=1, default=str)
    (RESULTS / f"{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    print_table(out)
    log(f"results: bench/results/{stamp}.json (and bench/results/latest.json)")
    failed = any(
        r["yuyue"]["server_errors"]
        or any(a["server_errors"] for a in (r.get("alone") or {}).values())
        or r["integrity"]["overbooked"]
        or r["integrity"]["quota_counter_mismatches"]
        or r["integrity"]["quotas_over_capacity"]
        for rs in rounds.values()
        for r in rs
    )
    return 1 if failed else 0


def reads_and_sold_out(conn, seed: dict, release_cfg: dict, args, r: int, meter) -> dict:
    """Right after the release round, while its slots are full: availability reads alone
    (anonymous, cached) and "book" pressed on sold-out slots alone, each at the same
    concurrency and for the same time as the framework floor."""
    slots = [
        row[0]
        for row in sql(
            conn,
            "SELECT id FROM clinics_slot WHERE session_id = ANY(%s)",
            (list(seed["release_sessions"]),),
        )
    ]
    out = {}
    for name, scenario, label_set, extra in (
        ("reads", "reads", READ_LABELS, {}),
        ("sold_out", "soldout", ("book_sold_out",), {"slots": slots}),
    ):
        log(f"  alone: {name}")
        cfg = {**release_cfg, "scenario": scenario, "duration": args.duration, **extra}
        result = loadgen(f"{scenario}-{r}", {**cfg, "seed": 200 + r}, meter)
        endpoints = {k: v for k, v in result["endpoints"].items() if k in label_set}
        count = sum(e["count"] for e in endpoints.values())
        out[name] = {
            "per_second": count / max(result["window_seconds"], 1e-9),
            "endpoints": endpoints,
            "server_errors": sum(e["server_errors"] for e in endpoints.values()),
            "cpu_percent": result["cpu_percent"],
        }
        log(f"    {out[name]['per_second']:.0f} req/s, 5xx {out[name]['server_errors']}")
    return out


def wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({proc.returncode}): bench/.work/gunicorn.log")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(base + "/healthz", timeout=2) as response,  # noqa: S310
        ):
            if response.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def run_naive(conn, seed: dict, base: str, meter: CpuMeter, args) -> dict:
    """The naive read-then-write booking on 2 slots (10 online places) at once."""
    log("naive variant: read-then-write booking, no lock")
    slots = [
        row[0]
        for row in sql(
            conn,
            "SELECT s.id FROM clinics_slot s JOIN clinics_quota q ON q.slot_id = s.id "
            "AND q.channel = 'online' WHERE s.session_id = %s ORDER BY s.starts_at LIMIT 2",
            [seed["release_sessions"][0]],
        )
    ]
    places = sql(
        conn,
        "SELECT sum(capacity) FROM clinics_quota WHERE channel = 'online' AND slot_id = ANY(%s)",
        [slots],
    )[0][0]
    patients = seed["virtual"][: max(200, min(len(seed["virtual"]), 400))]
    result = loadgen(
        "naive",
        {
            "base": base,
            "concurrency": max(args.concurrency, 64),
            "scenario": "naive",
            "patients": patients,
            "slots": slots,
        },
        meter,
    )
    drain(conn)
    integrity = check_integrity(conn)
    answered = result["endpoints"].get("naive_book", {})
    out = {
        "places": int(places),
        "requests": answered.get("count", 0),
        "accepted": answered.get("statuses", {}).get("201", 0),
        "server_errors": answered.get("server_errors", 0),
        "integrity": integrity,
        "caught": integrity["overbooked"] > 0 or integrity["quota_counter_mismatches"] > 0,
    }
    log(
        f"  naive: {out['accepted']} accepted for {out['places']} places; overbooked "
        f"{integrity['overbooked']}, counter mismatches {integrity['quota_counter_mismatches']}"
    )
    reset(conn)
    return out


def run_peer(args) -> dict | None:
    try:
        from bench import peer
    except ImportError:
        log("peer: not available")
        return None
    log("peer: django-appointment (bench.peer.run)")
    try:
        return peer.run(rounds=args.rounds, concurrency=args.concurrency, duration=args.duration)
    except Exception as exc:
        log(f"peer: failed ({type(exc).__name__}: {exc})")
        return {"error": f"{type(exc).__name__}: {exc}"}


def machine(args) -> dict:
    conn = pg()
    version = sql(conn, "SHOW server_version")[0][0]
    conn.close()
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": version,
        "platform": platform.platform(),
        "gunicorn": f"-w {args.workers} -k gthread --threads {args.threads}",
        "celery": "-c 2",
    }


def build_results(args, seed, rounds, naive, peer, started) -> dict:
    medians = {}
    for scenario, rs in rounds.items():
        if not rs:
            continue
        m = {key: median([r["ratios"][key] for r in rs]) for key in rs[0]["ratios"]}
        m |= {
            "bookings_per_second": median([r["yuyue"]["bookings_per_second"] for r in rs]),
            "availability_reads_per_second": median(
                [r["yuyue"]["availability_reads_per_second"] for r in rs]
            ),
            "db_floor_tx_per_second": median([r["database_floor"]["tx_per_second"] for r in rs]),
            "framework_floor_per_second": median(
                [r["framework_floor"]["healthz_per_second"] for r in rs]
            ),
        }
        if rs[0].get("alone"):
            m["availability_alone_per_second"] = median(
                [r["alone"]["reads"]["per_second"] for r in rs]
            )
            m["sold_out_alone_per_second"] = median(
                [r["alone"]["sold_out"]["per_second"] for r in rs]
            )
        if peer and "error" not in peer:
            m["yuyue_vs_peer_booking"] = ratio(
                m["bookings_per_second"], peer.get("booking", {}).get("bookings_per_s")
            )
            m["yuyue_vs_peer_listing"] = ratio(
                m.get("availability_alone_per_second") or m["availability_reads_per_second"],
                peer.get("listing", {}).get("rps"),
            )
        medians[scenario] = m
    return {
        "when": datetime.datetime.now(datetime.UTC).isoformat(),
        "arguments": vars(args),
        "machine": machine(args),
        "data": seed["counts"] | {"release_online_places": seed["release_online_places"]},
        "settings_note": "API_RATE_ANON_READ and API_RATE_BOOKING_WRITE raised to 1000000/min "
        "(all virtual patients share 127.0.0.1); quiet hours off; SMS to a file.",
        "rounds": rounds,
        "medians": medians,
        "naive": naive,
        "peer": peer if peer is not None else "not available",
        "seconds": round(time.perf_counter() - started, 1),
    }


def _f(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(out: dict) -> None:
    m = out["machine"]
    print()
    print(
        f"Machine: {m['nproc']} CPUs, Python {m['python']}, PostgreSQL {m['postgresql']}, "
        f"gunicorn {m['gunicorn']}; data {out['data']}"
    )
    print(out["settings_note"])
    for scenario, rs in out["rounds"].items():
        print(f"\n== {scenario} ==")
        header = (
            f"{'rnd':>3} {'booked':>6} {'book/s':>7} {'reads/s':>8} {'5xx':>4} {'overbk':>6} "
            f"{'mism':>4} {'confirm':>9} {'pg tx/s':>8} {'healthz/s':>9} {'cpu% gunicorn/pg/client/machine':>32}"
        )
        print(header)
        for r in rs:
            y, i, c = r["yuyue"], r["integrity"], r["confirmations"]
            cpu = r["cpu_percent"]
            print(
                f"{r['round']:>3} {y['bookings_ok']:>6} {y['bookings_per_second']:>7.1f} "
                f"{y['availability_reads_per_second']:>8.1f} {y['server_errors']:>4} "
                f"{i['overbooked']:>6} {i['quota_counter_mismatches']:>4} "
                f"{c['confirmations_sent']:>4}/{c['confirmations_enqueued']:<4} "
                f"{r['database_floor']['tx_per_second']:>8.0f} "
                f"{r['framework_floor']['healthz_per_second']:>9.0f} "
                f"{cpu.get('gunicorn', 0):>14.0f}/{cpu.get('postgresql', 0):>3.0f}/"
                f"{cpu.get('client', 0):>3.0f}/{cpu.get('machine_all_cpus', 0):>3.0f}"
            )
            refusals = ", ".join(
                f"{k} {v:.1f}/s" for k, v in sorted(r["yuyue"]["refusals_per_second"].items())
            )
            print(f"    refusals: {refusals or 'none'}")
            if y.get("no_answer") or y.get("unfinished_patients"):
                print(
                    f"    no answer {y['no_answer']}, patients cut off by the time limit "
                    f"{y['unfinished_patients']}"
                )
            lat = ", ".join(
                f"{label} {e['latency_ms']['p50']}/{e['latency_ms']['p95']}/"
                f"{e['latency_ms']['p99']}"
                for label, e in r["endpoints"].items()
            )
            print(f"    latency ms p50/p95/p99: {lat}")
            for name, a in (r.get("alone") or {}).items():
                lat = ", ".join(
                    f"{label} {e['latency_ms']['p50']}/{e['latency_ms']['p95']}/"
                    f"{e['latency_ms']['p99']}"
                    for label, e in a["endpoints"].items()
                )
                codes = {c: n for e in a["endpoints"].values() for c, n in e["codes"].items()}
                print(
                    f"    alone, {name}: {a['per_second']:.0f} req/s, 5xx {a['server_errors']}, "
                    f"codes {codes or '-'}; ms p50/p95/p99 {lat}"
                )
            if r["fairness"]:
                f = r["fairness"]
                print(
                    f"    fairness: success first fifth {f['success_share_first_fifth']}, "
                    f"last fifth {f['success_share_last_fifth']}; two places in a session: "
                    f"patients {i['patients_two_places_in_a_session']}, accounts "
                    f"{i['accounts_two_places_in_a_session']}; over dept-day limit "
                    f"{i['patients_over_department_day_limit']}; outcomes {f['outcomes']}"
                )
        med = out["medians"].get(scenario, {})
        print("  medians: " + ", ".join(f"{k} {_f(v, 3)}" for k, v in med.items()))
    naive = out.get("naive")
    if naive:
        print(
            f"\nnaive read-then-write: {naive['accepted']} accepted for {naive['places']} places,"
            f" overbooked {naive['integrity']['overbooked']}, counter mismatches "
            f"{naive['integrity']['quota_counter_mismatches']} -> "
            f"{'caught' if naive['caught'] else 'NOT caught'}"
        )
    peer = out.get("peer")
    if isinstance(peer, dict) and "error" not in peer:
        print(
            f"peer (django-appointment): listing {_f(peer['listing'].get('rps'))} req/s, "
            f"booking {_f(peer['booking'].get('bookings_per_s'))} bookings/s"
        )
    else:
        reason = peer if isinstance(peer, str) else (peer or {}).get("error", "not available")
        print(f"peer: {reason}")
    print(f"total {out['seconds']} s")


if __name__ == "__main__":
    sys.exit(main())
