# ruff: noqa: S311 - a load generator's choices, not secrets
"""The load generator: one asyncio event loop, aiohttp, a bounded number of requests in
flight (`concurrency`), a bounded duration. Run by bench.run in its own process:

    python -m bench.loadgen CONFIG.json OUTPUT.json

Each request is recorded as (label, status, code, start, latency): `code` is the JSON
body's `{"code": ...}` of a refusal (the web form's `data-code`), `start` is when the
request left (after waiting for a free connection), from time.perf_counter. Statistics are
computed once, at the end, so the loop does no heavy work while it measures.
"""

import asyncio
import json
import random
import re
import sys
import time
import uuid
from collections import Counter, defaultdict

import aiohttp

CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
KEY_INPUT = re.compile(rb'name="idempotency_key" value="([^"]+)"')
DATA_CODE = re.compile(rb'data-code="([^"]+)"')
BOOKING_RETRIES = 3  # further attempts after a slot_full, each with another slot


class Client:
    def __init__(self, base: str, concurrency: int) -> None:
        self.base = base
        self.concurrency = concurrency
        self.records: list[tuple[str, int, str, float, float]] = []
        self.sem = asyncio.Semaphore(concurrency)
        self.http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Client":
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=0),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=120),
        )
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.close()

    async def request(
        self,
        label: str,
        method: str,
        path: str,
        *,
        headers: dict | None = None,
        body: bytes | None = None,
        json_code: bool = True,
    ) -> tuple[int, bytes, object, str]:
        async with self.sem:
            start = time.perf_counter()
            try:
                async with self.http.request(
                    method, self.base + path, headers=headers, data=body, allow_redirects=False
                ) as response:
                    content = await response.read()
                    status, meta = response.status, response
            except (TimeoutError, aiohttp.ClientError) as exc:
                content, status, meta = b"", 0, None
                code = type(exc).__name__
            latency = time.perf_counter() - start
        if status:
            code = ""
            if status >= 400 and json_code and content[:1] == b"{":
                try:
                    code = json.loads(content).get("code", "")
                except ValueError:
                    code = "unparsable"
            elif status >= 400:
                found = DATA_CODE.search(content)
                code = found.group(1).decode() if found else f"http_{status}"
        self.records.append((label, status, code, start, latency))
        return status, content, meta, code


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def json_headers(token: str, key: str | None = None) -> dict:
    headers = bearer(token) | {"Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def open_slots(content: bytes) -> list[int]:
    try:
        slots = json.loads(content)
    except ValueError:
        return []
    return [
        s["id"]
        for s in slots
        if s.get("bookable_now") and (s.get("places") or {}).get("online", 0) > 0
    ]


class Patient:
    """One virtual patient: an account with a token, self and a family member."""

    def __init__(self, data: dict, rng: random.Random) -> None:
        self.account = data["account"]
        self.token = data["token"]
        self.patients = data["patients"]
        self.web = data.get("web")
        self.rng = rng
        self.first_attempt: float | None = None
        self.booked: list[int] = []  # booking ids (API) or codes (web)
        self.outcome = "not_tried"

    def who(self) -> int:
        return self.rng.choice(self.patients)


async def read_slots(client: Client, p: Patient, session_id: int, label: str) -> list[int]:
    status, content, _, _ = await client.request(
        label, "GET", f"/api/v1/sessions/{session_id}/slots", headers=bearer(p.token)
    )
    return open_slots(content) if status == 200 else []


async def book_api(client: Client, p: Patient, slot: int, patient: int, label: str):
    body = json.dumps({"patient": patient, "slot": slot}).encode()
    status, content, _, code = await client.request(
        label,
        "POST",
        "/api/v1/bookings",
        headers=json_headers(p.token, uuid.uuid4().hex),
        body=body,
    )
    if status == 201:
        return True, json.loads(content)["id"], ""
    return False, None, code or f"http_{status}"


async def book_web(client: Client, p: Patient, slot: int, patient: int, label: str):
    """The web form: GET the confirm page (CSRF token, idempotency key), POST it."""
    cookie = f"sessionid={p.web}"
    status, content, meta, _ = await client.request(
        label + "_form",
        "GET",
        f"/book/confirm/?slot={slot}&patient={patient}",
        headers={"Cookie": cookie, "Accept-Language": "en"},
    )
    token, key = CSRF_INPUT.search(content or b""), KEY_INPUT.search(content or b"")
    csrf_cookie = meta.cookies.get("csrftoken") if meta is not None else None
    if status != 200 or not token or not key or csrf_cookie is None:
        return False, None, f"form_{status}"
    form = (
        f"csrfmiddlewaretoken={token.group(1).decode()}&slot={slot}&patient={patient}"
        f"&idempotency_key={key.group(1).decode()}"
    ).encode()
    status, content, meta, code = await client.request(
        label,
        "POST",
        "/book/confirm/",
        headers={
            "Cookie": f"{cookie}; csrftoken={csrf_cookie.value}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept-Language": "en",
        },
        body=form,
    )
    if status == 302 and "/book/booking/" in meta.headers.get("Location", ""):
        return True, meta.headers["Location"].rstrip("/").rsplit("/", 1)[-1], ""
    return False, None, code or f"http_{status}"


async def try_to_book(
    client: Client, p: Patient, sessions: list[int], start: float, label: str
) -> None:
    """Read a session's slots, book one with places; after slot_full, another (a few
    times, moving to another session when this one shows none)."""
    order = sessions[:]
    p.rng.shuffle(order)
    patient = p.who()
    attempts = 0
    for session_id in order:
        while attempts <= BOOKING_RETRIES:
            slots = await read_slots(client, p, session_id, "slots_read")
            if not slots:
                break
            slot = p.rng.choice(slots)
            if p.first_attempt is None:
                p.first_attempt = time.perf_counter() - start
            attempts += 1
            if p.web:
                ok, ref, code = await book_web(client, p, slot, patient, "book_web")
            else:
                ok, ref, code = await book_api(client, p, slot, patient, "book_api")
            if ok:
                p.booked.append(ref)
                p.outcome = "booked"
                return
            p.outcome = code
            if code != "slot_full":
                return
        if attempts > BOOKING_RETRIES:
            return
    if p.outcome == "not_tried":
        p.outcome = "saw_none_left"


async def read_availability(
    client: Client,
    rng: random.Random,
    cfg: dict,
    sessions: list[int],
    *,
    token: str | None = None,
    department_share: float = 1.0,
    filters: str = "",
) -> None:
    """One availability read as a patient's browser makes it: half the time the session
    list of the read window (of one department `department_share` of the time, with
    `filters`), else one session's slots. Anonymous without `token`."""
    headers = bearer(token) if token else None
    if rng.random() < 0.5:
        day_from, day_to = cfg["read_dates"]
        query = f"date_from={day_from}&date_to={day_to}{filters}"
        if rng.random() < department_share:
            query += f"&department={rng.choice(cfg['department_codes'])}"
        await client.request("sessions_list", "GET", f"/api/v1/sessions?{query}", headers=headers)
    else:
        path = f"/api/v1/sessions/{rng.choice(sessions)}/slots"
        await client.request("slots_read", "GET", path, headers=headers)


async def reader(client: Client, rng: random.Random, cfg: dict, tokens: list[str], done) -> None:
    """A signed-in patient browsing the release's availability until `done()`."""
    filters = "&has_places=true" + (f"&level={cfg['read_level']}" if cfg.get("read_level") else "")
    while not done():
        await read_availability(
            client,
            rng,
            cfg,
            cfg["read_sessions"],
            token=rng.choice(tokens),
            department_share=0.6,
            filters=filters,
        )


async def scenario_release(client: Client, cfg: dict) -> dict:
    rng = random.Random(cfg.get("seed", 7))
    people = [Patient(v, random.Random(rng.random())) for v in cfg["patients"]]
    tokens = [p.token for p in people]
    gate = asyncio.Event()
    finished = {"n": 0}
    deadline = {"t": float("inf")}

    def done() -> bool:
        return finished["n"] >= len(people) or time.perf_counter() > deadline["t"]

    async def one(p: Patient) -> None:
        await gate.wait()
        try:
            await try_to_book(client, p, cfg["book_sessions"], release, "book")
        finally:
            finished["n"] += 1

    tasks = [asyncio.create_task(one(p)) for p in people]
    readers = [
        asyncio.create_task(reader(client, random.Random(rng.random()), cfg, tokens, done))
        for _ in range(max(2, client.concurrency // 4))
    ]
    await asyncio.sleep(0.2)  # every coroutine is at the barrier
    release = time.perf_counter()
    deadline["t"] = release + cfg["max_seconds"]
    gate.set()
    await asyncio.wait(tasks, timeout=cfg["max_seconds"] + 5)
    end = time.perf_counter()
    unfinished = [t for t in tasks if not t.done()]
    for t in unfinished:
        t.cancel()
    await asyncio.gather(*unfinished, return_exceptions=True)
    for t in readers:
        t.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    return {
        "start": release,
        "end": end,
        "unfinished_patients": len(unfinished),
        "patients": [
            {
                "account": p.account,
                "first_attempt": p.first_attempt,
                "outcome": p.outcome,
                "booked": p.booked,
                "web": bool(p.web),
            }
            for p in people
        ],
    }


async def scenario_steady(client: Client, cfg: dict) -> dict:
    """A normal day's mix: reads (65 %), bookings (22 %: slots read, then the POST),
    front-desk check-ins of today's visits (3 %), cancellations of own bookings (5 %),
    my bookings (5 %)."""
    rng = random.Random(cfg.get("seed", 11))
    people = [Patient(v, random.Random(rng.random())) for v in cfg["patients"]]
    tokens = [p.token for p in people]
    workers = client.concurrency
    start = time.perf_counter()
    deadline = start + cfg["duration"]
    sessions = cfg["book_sessions"]
    stats = Counter()
    staff = cfg.get("staff_token")

    async def worker(k: int) -> None:
        wrng = random.Random(k)
        mine = people[k::workers]
        arrivals = list(cfg.get("checkin_codes", [])[k::workers])
        if not mine:
            return
        turn = 0
        while time.perf_counter() < deadline:
            r = wrng.random()
            if r < 0.65:
                await read_availability(
                    client,
                    wrng,
                    cfg,
                    sessions,
                    token=wrng.choice(tokens),
                    filters="&has_places=true",
                )
            elif r < 0.87:
                p = mine[turn % len(mine)]
                turn += 1
                slots = await read_slots(client, p, wrng.choice(sessions), "slots_read")
                if not slots:
                    continue
                slot = wrng.choice(slots)
                if p.web and wrng.random() < 0.5:
                    ok, ref, _code = await book_web(client, p, slot, p.who(), "book_web")
                else:
                    ok, ref, _code = await book_api(client, p, slot, p.who(), "book_api")
                    if ok:
                        p.booked.append(ref)
                stats["booked" if ok else "refused"] += 1
            elif r < 0.90:
                if not arrivals or not staff:
                    continue
                body = json.dumps({"code": arrivals.pop()}).encode()
                await client.request(
                    "check_in",
                    "POST",
                    "/api/v1/staff/check-ins",
                    headers=json_headers(staff),
                    body=body,
                )
            elif r < 0.95:
                owners = [p for p in mine if p.booked]
                if not owners:
                    continue
                p = wrng.choice(owners)
                booking_id = p.booked.pop()
                await client.request(
                    "cancel",
                    "POST",
                    f"/api/v1/bookings/{booking_id}/cancel",
                    headers=json_headers(p.token),
                    body=b'{"reason": "bench"}',
                )
            else:
                p = wrng.choice(mine)
                await client.request(
                    "my_bookings", "GET", "/api/v1/bookings", headers=bearer(p.token)
                )

    await asyncio.gather(*(worker(k) for k in range(workers)))
    return {"start": start, "end": time.perf_counter(), "mix": dict(stats)}


async def scenario_healthz(client: Client, cfg: dict) -> dict:
    """The framework floor: GET /healthz through the whole middleware stack."""
    start = time.perf_counter()
    deadline = start + cfg["duration"]

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await client.request("healthz", "GET", "/healthz")

    await asyncio.gather(*(worker() for _ in range(client.concurrency)))
    return {"start": start, "end": time.perf_counter()}


async def scenario_reads(client: Client, cfg: dict) -> dict:
    """Availability alone, as a browser or an app without sign-in reloads it at 07:00:
    the session list (by department) and a session's slots, anonymous, for `duration`."""
    rng = random.Random(cfg.get("seed", 11))
    start = time.perf_counter()
    deadline = start + cfg["duration"]

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await read_availability(client, rng, cfg, cfg["read_sessions"])

    await asyncio.gather(*(worker() for _ in range(client.concurrency)))
    return {"start": start, "end": time.perf_counter()}


async def scenario_soldout(client: Client, cfg: dict) -> dict:
    """After the release: signed-in patients keep pressing "book" on sold-out slots (a
    new Idempotency-Key each time, as a new click), for `duration`."""
    rng = random.Random(cfg.get("seed", 13))
    people = cfg["patients"]
    slots = cfg["slots"]
    start = time.perf_counter()
    deadline = start + cfg["duration"]

    async def worker() -> None:
        while time.perf_counter() < deadline:
            v = rng.choice(people)
            body = json.dumps({"patient": rng.choice(v["patients"]), "slot": rng.choice(slots)})
            await client.request(
                "book_sold_out",
                "POST",
                "/api/v1/bookings",
                headers=json_headers(v["token"], uuid.uuid4().hex),
                body=body.encode(),
            )

    await asyncio.gather(*(worker() for _ in range(client.concurrency)))
    return {"start": start, "end": time.perf_counter()}


async def scenario_naive(client: Client, cfg: dict) -> dict:
    """Everyone at once on a few places, through the naive read-then-write view."""
    gate = asyncio.Event()
    rng = random.Random(3)

    async def one(v: dict) -> None:
        await gate.wait()
        body = json.dumps({"patient": rng.choice(v["patients"]), "slot": rng.choice(cfg["slots"])})
        await client.request(
            "naive_book",
            "POST",
            "/bench/naive-book",
            headers={"Content-Type": "application/json"},
            body=body.encode(),
        )

    tasks = [asyncio.create_task(one(v)) for v in cfg["patients"]]
    await asyncio.sleep(0.2)
    start = time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    return {"start": start, "end": time.perf_counter()}


SCENARIOS = {
    "release": scenario_release,
    "steady": scenario_steady,
    "healthz": scenario_healthz,
    "reads": scenario_reads,
    "soldout": scenario_soldout,
    "naive": scenario_naive,
}


def percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def summarise(records: list, start: float, end: float) -> dict:
    """Per label: count, rate, statuses, refusal codes, p50/p95/p99 latency (ms)."""
    window = max(end - start, 1e-9)
    by_label: dict[str, list] = defaultdict(list)
    for record in records:
        by_label[record[0]].append(record)
    out = {}
    for label, rows in sorted(by_label.items()):
        latencies = sorted(r[4] for r in rows)
        statuses = Counter(r[1] for r in rows)
        out[label] = {
            "count": len(rows),
            "per_second": len(rows) / window,
            "ok": sum(n for s, n in statuses.items() if 200 <= s < 400),
            "statuses": {str(s): n for s, n in sorted(statuses.items())},
            "codes": dict(Counter(r[2] for r in rows if r[2])),
            "server_errors": sum(n for s, n in statuses.items() if s >= 500),
            "client_errors_no_answer": statuses.get(0, 0),
            "latency_ms": {
                "p50": _ms(percentile(latencies, 0.50)),
                "p95": _ms(percentile(latencies, 0.95)),
                "p99": _ms(percentile(latencies, 0.99)),
                "max": _ms(latencies[-1] if latencies else None),
            },
            "last_end": max(r[3] + r[4] for r in rows) - start,
            "last_ok_end": max((r[3] + r[4] for r in rows if 200 <= r[1] < 400), default=start)
            - start,
        }
    return out


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


async def main_async(cfg: dict) -> dict:
    async with Client(cfg["base"], cfg["concurrency"]) as client:
        result = await SCENARIOS[cfg["scenario"]](client, cfg)
    result["window_seconds"] = result["end"] - result["start"]
    result["endpoints"] = summarise(client.records, result["start"], result["end"])
    result["requests"] = len(client.records)
    return result


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as config:
        cfg = json.load(config)
    result = asyncio.run(main_async(cfg))
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
