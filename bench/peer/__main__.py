"""python -m bench.peer: measure the peer baseline alone and print its figures."""

import argparse
import json

from bench.peer import run


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--port", type=int, default=8792)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    a = p.parse_args()
    result = run(
        rounds=a.rounds,
        concurrency=a.concurrency,
        duration=a.duration,
        port=a.port,
        workers=a.workers,
        threads=a.threads,
        warmup=a.warmup,
    )
    if a.json:
        print(json.dumps(result, indent=2))
        return
    v = result["versions"]
    c = result["config"]
    print(
        f"peer: django-appointment {v['django-appointment']}, Django {v['Django']}, "
        f"gunicorn {v['gunicorn']} ({c['gunicorn']}), PostgreSQL {v['postgresql']}"
    )
    print(
        f"      {c['rounds']} round(s) x {c['duration_s']}s at {c['concurrency']} connections; "
        f"data {c['data']}"
    )
    head = f"{'':10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}{'queries':>9}"
    print(head)
    for name in ("listing", "booking"):
        r = result[name]
        print(
            f"{name:10}{r['rps']:>9}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}"
            f"{r['errors']:>8}{r['queries']:>9}"
        )
    b = result["booking"]
    print(
        f"booking: {b['bookings_per_s']} completed bookings/s ({b['requests_per_booking']} requests each: "
        f"queries per step {b['queries_per_step']}); overbooked: {b['overbooked']} "
        f"(median over rounds; per round: {[r['booking']['overbooked'] for r in result['rounds']]})"
    )


if __name__ == "__main__":
    main()
