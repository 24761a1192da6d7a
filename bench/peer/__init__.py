"""Peer baseline: django-appointment 3.12.0 (PyPI) served and loaded the way Yuyue is in the bench.

``run()`` builds (once) a separate virtualenv with the pinned package, migrates and seeds the
``yuyue_bench_peer`` database, serves the small site in ``site/`` with gunicorn (gthread) and
drives it with ``load.py`` in a separate process. Yuyue's figures can then be quoted as ratios
against a real open-source Django booking app measured on the same machine, the same way.
See README.md for what is measured.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SITE = HERE / "site"
WORK = HERE.parent / ".work"
VENV = WORK / "peer-venv"
PY = VENV / "bin" / "python"
REQUIREMENTS = HERE / "requirements.txt"
FIXTURE = WORK / "peer-fixture.json"
SESSIONS = WORK / "peer-sessions.json"
MIGRATIONS = WORK / "peer-migrations" / "peer_migrations"
GUNICORN_LOG = WORK / "peer-gunicorn.log"
DB_NAME = "yuyue_bench_peer"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
MARKER = "PEERJSON "


def _log(msg: str) -> None:
    print(f"[peer] {msg}", file=sys.stderr, flush=True)


def _env() -> dict:
    env = dict(os.environ, PEER_WORK_DIR=str(WORK), DJANGO_SETTINGS_MODULE="peersite.settings")
    env.pop("DATABASE_URL", None)
    env.pop("PYTHONPATH", None)
    return env


def _venv_run(args: list[str], *, timeout: float = 600) -> str:
    """Run the peer venv's Python in site/; its last JSON line (if any) is the answer."""
    proc = subprocess.run(  # noqa: S603 (our own venv and scripts)
        [str(PY), *args],
        cwd=SITE,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_die_with_parent,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout


def _last_json(out: str) -> dict:
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON in output:\n{out[-2000:]}")


def ensure_venv() -> None:
    """Create bench/.work/peer-venv with the pinned requirements, again only when they change."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = VENV / ".requirements.sha256"
    if PY.exists() and stamp.exists() and stamp.read_text() == digest:
        return
    _log("creating the peer virtualenv (python3.11)")
    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run(["python3.11", "-m", "venv", "--clear", str(VENV)], check=True)  # noqa: S603,S607
    subprocess.run(  # noqa: S603
        [
            str(PY),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    stamp.write_text(digest)


def ensure_database() -> None:
    """Create the database if missing, generate the package's migrations once, migrate."""
    code = (
        "import sys, psycopg2\n"
        "from psycopg2 import sql\n"
        "name, host, port, user = sys.argv[1:]\n"
        "c = psycopg2.connect(dbname='postgres', host=host, port=port, user=user)\n"
        "c.autocommit = True\n"
        "cur = c.cursor()\n"
        "cur.execute('SELECT 1 FROM pg_database WHERE datname = %s', [name])\n"
        "if not cur.fetchone():\n"
        "    cur.execute(sql.SQL('CREATE DATABASE {}').format(sql.Identifier(name)))\n"
    )
    _venv_run(["-c", code, DB_NAME, PG["host"], str(PG["port"]), PG["user"]])
    if not (MIGRATIONS / "appointment" / "0001_initial.py").exists():
        MIGRATIONS.mkdir(parents=True, exist_ok=True)
        (MIGRATIONS / "__init__.py").touch()
        _venv_run(["manage.py", "makemigrations", "appointment", "--noinput"])
    _venv_run(["manage.py", "migrate", "--noinput"])


def versions() -> dict:
    code = (
        "import importlib.metadata as m, json, platform, psycopg2\n"
        "v={p: m.version(p) for p in ('django-appointment','Django','gunicorn','psycopg2-binary','aiohttp')}\n"
        "v['python']=platform.python_version()\n"
        f"c=psycopg2.connect(dbname='{DB_NAME}',host='{PG['host']}',port={PG['port']},user='{PG['user']}')\n"
        "cur=c.cursor(); cur.execute('SHOW server_version'); v['postgresql']=cur.fetchone()[0]\n"
        "print(json.dumps(v))\n"
    )
    return _last_json(_venv_run(["-c", code]))


class Server:
    """gunicorn in its own process group, stopped on exit whatever the exit."""

    def __init__(self, port: int, workers: int, threads: int) -> None:
        self.port = port
        self.cmd = [
            str(VENV / "bin" / "gunicorn"),
            "peersite.wsgi:application",
            "-w", str(workers),
            "-k", "gthread",
            "--threads", str(threads),
            "-b", f"127.0.0.1:{port}",
        ]  # fmt: skip
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"port {self.port} is already in use")
        self.log = open(GUNICORN_LOG, "w")
        self.proc = subprocess.Popen(  # noqa: S603
            self.cmd,
            cwd=SITE,
            env=_env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        atexit.register(self.stop)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30.0) -> None:
        url = f"http://127.0.0.1:{self.port}/appointment/ajax/available_slots/"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {GUNICORN_LOG}")
            try:
                urllib.request.urlopen(url, timeout=2)
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer means it serves (this one is 400 without AJAX)
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready after {timeout}s; see {GUNICORN_LOG}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # its own session: the process group id is its pid
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        self.log.close()

    def __exit__(self, *exc) -> None:
        self.stop()


def _die_with_parent() -> None:
    """gunicorn's master gets SIGTERM if the orchestrator dies without cleaning up (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _load(port: int, scenario: str, concurrency: int, duration: float) -> dict:
    args = [
        str(HERE / "load.py"),
        "--base-url", f"http://127.0.0.1:{port}",
        "--scenario", scenario,
        "--concurrency", str(concurrency),
        "--duration", str(duration),
        "--fixture", str(FIXTURE),
        "--sessions", str(SESSIONS),
    ]  # fmt: skip
    return _last_json(_venv_run(args, timeout=duration + 120))


def _median(rounds: list[dict], key: str, field: str) -> float:
    return round(statistics.median(r[key][field] for r in rounds), 2)


def run(
    *,
    rounds: int = 3,
    concurrency: int = 64,
    duration: float = 15.0,
    port: int = 8792,
    workers: int = 2,
    threads: int = 4,
    warmup: float = 2.0,
) -> dict:
    """Measure the peer: each round a listing run then a booking run; medians over rounds."""
    ensure_venv()
    ensure_database()
    _log("seeding")
    counts = _last_json(_venv_run(["peerctl.py", "seed", str(FIXTURE)]))
    queries = _last_json(_venv_run(["peerctl.py", "queries", str(FIXTURE)]))
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    per_round = []
    try:
        with Server(port, workers, threads):
            if warmup > 0:
                _load(port, "listing", concurrency, warmup)
            for i in range(rounds):
                _venv_run(
                    ["peerctl.py", "prepare-round", str(FIXTURE), str(concurrency), str(SESSIONS)]
                )
                _log(f"round {i + 1}/{rounds}: listing")
                listing = _load(port, "listing", concurrency, duration)
                _log(f"round {i + 1}/{rounds}: booking")
                booking = _load(port, "booking", concurrency, duration)
                booking.update(_last_json(_venv_run(["peerctl.py", "overbooked"])))
                per_round.append({"listing": listing, "booking": booking})
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

    fields = ("rps", "p50_ms", "p95_ms", "p99_ms", "errors")
    result = {
        "listing": {f: _median(per_round, "listing", f) for f in fields},
        "booking": {
            f: _median(per_round, "booking", f) for f in (*fields, "bookings_per_s", "overbooked")
        },
        "rounds": per_round,
        "versions": versions(),
        "config": {
            "rounds": rounds,
            "concurrency": concurrency,
            "duration_s": duration,
            "port": port,
            "gunicorn": f"-w {workers} -k gthread --threads {threads}",
            "data": counts,
        },
    }
    result["listing"]["queries"] = queries["listing"]
    result["booking"]["queries"] = queries["booking_flow"]
    result["booking"]["queries_per_step"] = {
        "listing": queries["listing"],
        "submit": queries["booking_submit"],
        "client_info": queries["booking_client_info"],
    }
    result["booking"]["requests_per_booking"] = 3
    return result
