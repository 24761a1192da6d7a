"""A lean asyncio + aiohttp load generator for the peer site (django-appointment 3.12.0).

Runs in its own process (the peer venv's Python) so that it does not share a core's event loop
with the orchestrator. It keeps ``--concurrency`` connections busy for ``--duration`` seconds,
records each request's latency and status, and prints one JSON summary line.

Scenarios:
  listing  GET the package's slot-listing endpoint (ajax/available_slots/) for a random staff
           member, service and day of the next two weeks.
  booking  each connection is a signed-in client (a session opened by peerctl.py) that lists a
           random staff member's day, takes the earliest free slot, POSTs the appointment request
           (request-submit/) and then the client-information form (client-info/...). A booking is
           complete when that last POST redirects to the thank-you page.
"""

import argparse
import asyncio
import datetime
import json
import random
import secrets
import string
import time
from collections import Counter
from pathlib import Path

import aiohttp
from yarl import URL

LISTING = "/appointment/ajax/available_slots/"
SUBMIT = "/appointment/request-submit/"
AJAX = {"X-Requested-With": "XMLHttpRequest"}
SLOT_MINUTES = 20


class Recorder:
    """Latency and status of every request, per step."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()
        self.bookings = 0
        self.no_slot = 0

    def add(self, step: str, started: float, status: int, ok: bool) -> None:
        self.samples.setdefault(step, []).append(time.perf_counter() - started)
        self.statuses[f"{step}:{status}"] += 1
        if not ok:
            self.errors[step] += 1


def _pct(sorted_s: list[float], q: float) -> float:
    if not sorted_s:
        return 0.0
    # the same rule as bench/loadgen.py, so the two sets of percentiles compare
    i = min(len(sorted_s) - 1, max(0, round(q * (len(sorted_s) - 1))))
    return round(sorted_s[i] * 1000, 2)


def _stats(samples: list[float], elapsed: float) -> dict:
    s = sorted(samples)
    return {
        "requests": len(s),
        "rps": round(len(s) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": _pct(s, 0.50),
        "p95_ms": _pct(s, 0.95),
        "p99_ms": _pct(s, 0.99),
    }


def _listing_params(target: dict) -> dict:
    return {
        "selected_date": target["date"],
        "staff_member": str(target["staff"]),
        "service_id": str(target["service"]),
    }


async def _get_listing(http, base, target, rec: Recorder):
    started = time.perf_counter()
    try:
        async with http.get(base + LISTING, params=_listing_params(target), headers=AJAX) as r:
            body = await r.json(content_type=None) if r.status == 200 else None
            rec.add("listing", started, r.status, r.status == 200)
            return body
    except (TimeoutError, aiohttp.ClientError, ValueError):
        rec.add("listing", started, 0, False)
        return None


async def listing_worker(http, base, targets, deadline, rec, rng):
    while time.perf_counter() < deadline:
        await _get_listing(http, base, rng.choice(targets), rec)


async def _post(http, url, data, step, expect, rec):
    """POST a form without following the redirect; the Location if it is the expected one."""
    started = time.perf_counter()
    try:
        async with http.post(url, data=data, allow_redirects=False) as r:
            await r.read()
            location = r.headers.get("Location", "")
            ok = r.status == 302 and expect in location
            rec.add(step, started, r.status, ok)
            return location if ok else None
    except (TimeoutError, aiohttp.ClientError):
        rec.add(step, started, 0, False)
        return None


async def booking_worker(base, session, targets, deadline, rec, rng, timeout):
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP-address host
    jar.update_cookies({"sessionid": session["sessionid"], "csrftoken": csrf}, URL(base))
    conn = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=conn, cookie_jar=jar, timeout=timeout) as http:
        while time.perf_counter() < deadline:
            target = rng.choice(targets)
            body = await _get_listing(http, base, target, rec)
            if body is None:
                continue
            slots = body.get("available_slots") or []
            if not slots:
                rec.no_slot += 1
                continue
            start = datetime.datetime.fromisoformat(slots[0][0])
            end = start + datetime.timedelta(minutes=SLOT_MINUTES)
            form = {
                "csrfmiddlewaretoken": csrf,
                "date": target["date"],
                "start_time": start.strftime("%H:%M"),
                "end_time": end.strftime("%H:%M"),
                "service": str(target["service"]),
                "staff_member": str(target["staff"]),
            }
            location = await _post(http, base + SUBMIT, form, "submit", "/client-info/", rec)
            if location is None:
                continue
            info = {
                "csrfmiddlewaretoken": csrf,
                "name": session["name"],
                "email": session["email"],
                "phone_0": "CN",
                "phone_1": f"138{rng.randrange(10**8):08d}",
                "address": "Beijing",
                "additional_info": "",
                "payment_type": "full",
            }
            url = location if location.startswith("http") else base + location
            if await _post(http, url, info, "client_info", "/thank-you/", rec):
                rec.bookings += 1


async def main_async(args) -> dict:
    fixture = json.loads(Path(args.fixture).read_text())
    targets = fixture["targets"]
    rec = Recorder()
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    base = args.base_url.rstrip("/")
    started = time.perf_counter()
    deadline = started + args.duration
    if args.scenario == "listing":
        conn = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(
            connector=conn, cookie_jar=aiohttp.DummyCookieJar(), timeout=timeout
        ) as http:
            await asyncio.gather(
                *(
                    listing_worker(http, base, targets, deadline, rec, random.Random(i))  # noqa: S311
                    for i in range(args.concurrency)
                )
            )
    else:
        sessions = json.loads(Path(args.sessions).read_text())
        if len(sessions) < args.concurrency:
            raise SystemExit(f"{len(sessions)} sessions for {args.concurrency} connections")
        await asyncio.gather(
            *(
                booking_worker(base, sessions[i], targets, deadline, rec, random.Random(i), timeout)  # noqa: S311
                for i in range(args.concurrency)
            )
        )
    elapsed = time.perf_counter() - started
    every = [x for samples in rec.samples.values() for x in samples]
    out = {
        "scenario": args.scenario,
        "elapsed_s": round(elapsed, 3),
        "concurrency": args.concurrency,
    }
    out.update(_stats(every, elapsed))
    out["errors"] = sum(rec.errors.values())
    out["steps"] = {
        step: {**_stats(samples, elapsed), "errors": rec.errors.get(step, 0)}
        for step, samples in sorted(rec.samples.items())
    }
    out["statuses"] = dict(sorted(rec.statuses.items()))
    if args.scenario == "booking":
        out["bookings"] = rec.bookings
        out["bookings_per_s"] = round(rec.bookings / elapsed, 2)
        out["no_slot"] = rec.no_slot
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-url", required=True)
    p.add_argument("--scenario", choices=["listing", "booking"], required=True)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--fixture", required=True)
    p.add_argument("--sessions")
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()
    print(json.dumps(asyncio.run(main_async(args))), flush=True)


if __name__ == "__main__":
    main()
