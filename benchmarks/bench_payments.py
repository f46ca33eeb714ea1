"""Kopek payments benchmark: how Kopek's throughput compares with bare aiohttp on the same machine.

Run:  python benchmarks/bench_payments.py [--seconds N] [--concurrency C] [--json]

Two real servers are started as child processes on free 127.0.0.1 ports:

* a *baseline*: a bare aiohttp app with ``POST /echo``, which parses a JSON body and answers
  ``201`` with a small JSON object (no database, no auth, no logging), and ``POST /insert``, which
  also writes the body with one aiosqlite INSERT and COMMIT per request (WAL, Kopek's pragmas);
* *Kopek* itself: ``python -m kopek --db <tmp>/kopek.db serve --sandbox-time-scale 0.001`` on a
  fresh SQLite file, with a merchant created through ``python -m kopek merchant create --json``.

An aiohttp client in this process then runs four phases, each with C concurrent workers for N
seconds (after a short warm-up that is not counted):

a. ``baseline``          POST /echo, as fast as possible;
   ``baseline_insert``   POST /insert, the same with one commit per request;
b. ``payments_create``   POST /v1/payments (secret key, unique order_id each);
c. ``complete_payments`` the whole sandbox checkout of one payment through the WebMoney simulator:
   create -> POST /v1/checkout/ID/attempts (Idempotency-Key, Kopek-Client-Secret, account
   R100000000001) -> code from GET /sandbox/phone.json?payment=ID -> POST .../confirm -> poll
   GET /v1/payments/ID every 5 ms until ``succeeded`` (the simulator's callback settles it).
   That is at least 5 HTTP requests per payment plus the simulator's own internal requests.

For each phase it prints operations/s (an operation counts when it both starts and ends inside
the measured window), p50/p95 latency of one operation (one request for a and b, one whole
payment for c), the server's CPU time per operation over the same window (user + system, all
threads, from /proc; for c it includes the built-in simulators, which run in Kopek's process), errors (unexpected responses, warm-up included), and these ratios:

* ``payments_create / baseline``: the share of a bare aiohttp request rate that creating a payment
  reaches (auth + validation + SQLite write + event + access log). 0.25 means 4x the cost of a
  trivial request.
* ``payments_create / baseline_insert``: against "bare aiohttp plus one commit per request", which
  group commit lets a single writer beat (1.0 is the first target);
* ``complete_payments / baseline``: the same for a whole checkout. Since one payment is many
  requests, expect this far below 1; it is the figure for "payments per second this box can take".

Client and servers share the machine (2 cores here), so absolute numbers are indicative only; the
ratios are the portable part. Compare runs with the same --concurrency and --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp

from _common import (
    HOST, Child, KopekClient, PhaseResult, add_output_arguments, add_run_arguments, check_run_arguments, create_merchant,
    echo_operation, free_port, insert_operation, machine_info, print_machine, print_notes, print_ratios, print_results,
    ratios_to_baseline, run_baseline_server, run_phases, server_problems, start_baseline, start_kopek,
    wait_for_servers, workspace,
)


# ----------------------------------------------------------------------------- orchestration

async def measure(args: argparse.Namespace, baseline: Child, baseline_url: str, kopek: Child, kopek_url: str,
                  secret_key: str) -> dict[str, PhaseResult]:
    connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await wait_for_servers(session, baseline, baseline_url, kopek, kopek_url)
        client = KopekClient(session, kopek_url, secret_key)

        async def create_once() -> None:
            await client.create_payment()

        return await run_phases([("baseline", echo_operation(session, baseline_url), baseline),
                                 ("baseline_insert", insert_operation(session, baseline_url), baseline),
                                 ("payments_create", create_once, kopek),
                                 ("complete_payments", client.complete_payment, kopek)], args)


def report(results: dict[str, PhaseResult], args: argparse.Namespace, problems: dict[str, Any]) -> dict[str, Any]:
    return {"machine": machine_info(),
            "settings": {"seconds": args.seconds, "warmup": args.warmup, "concurrency": args.concurrency,
                         "sandbox_time_scale": args.time_scale},
            "results": {name: r.to_json() for name, r in results.items()},
            "ratios": {**ratios_to_baseline(results, ("baseline_insert", "payments_create", "complete_payments")),
                       "payments_create/baseline_insert": _ratio(results["payments_create"],
                                                                 results["baseline_insert"])},
            "server_problems": problems}


def _ratio(kopek: PhaseResult, baseline: PhaseResult) -> float | None:
    return round(kopek.per_second / baseline.per_second, 4) if baseline.per_second else None


def print_table(data: dict[str, Any]) -> None:
    s = data["settings"]
    print_machine(data["machine"])
    print(f"run: {s['concurrency']} concurrent workers, {s['seconds']:g}s per phase"
          f" (+{s['warmup']:g}s warm-up), sandbox time scale {s['sandbox_time_scale']:g}")
    print()
    print_results(data["results"])
    print()
    print_ratios(data["ratios"])
    print_notes(data)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_arguments(parser)
    parser.add_argument("--time-scale", type=float, default=0.001, help="Kopek --sandbox-time-scale (default 0.001)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    check_run_arguments(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_baseline:
        run_baseline_server(args.serve_baseline)
        return 0
    with workspace(args.log_dir) as (workdir, children):
        db_path = workdir / "kopek.db"
        secret_key = create_merchant(db_path)
        baseline_port, kopek_port = free_port(), free_port()
        children.append(start_baseline(Path(__file__).resolve(), baseline_port, workdir))
        children.append(start_kopek(db_path, kopek_port, workdir, "--sandbox-time-scale", str(args.time_scale)))
        results = asyncio.run(measure(args, children[0], f"http://{HOST}:{baseline_port}",
                                      children[1], f"http://{HOST}:{kopek_port}", secret_key))
        data = report(results, args, server_problems(children[1]))
        if args.json:
            print(json.dumps(data, indent=2))
        else:
            print_table(data)
        return 0


if __name__ == "__main__":
    sys.exit(main())
