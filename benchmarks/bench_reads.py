"""Kopek read benchmark: GET /v1/payments/{id} against bare aiohttp with and without one SQLite read.

Run:  python benchmarks/bench_reads.py [--seconds N] [--concurrency C] [--payments P] [--json]

Two real servers are started as child processes on free 127.0.0.1 ports, as in bench_payments.py:
the bare aiohttp baseline and ``kopek serve`` on a fresh SQLite file with one merchant. Kopek gets
P payments through ``POST /v1/payments``; the baseline gets the same P payment objects as rows
through ``POST /insert``, so both answer the same JSON. Then, with C concurrent workers for N
seconds each (after a warm-up that is not counted):

a. ``baseline``       GET /hello on the bare server: a constant JSON answer;
b. ``baseline_read``  GET /read/{n} on the bare server: one aiosqlite point read, the row as JSON;
c. ``payment_read``   GET /v1/payments/{id} on Kopek with the secret key: authentication (a key
   lookup), the payment read, its public JSON, the access log.

Each picks a random row or payment. It prints ops/s, latency, the server's CPU per read and the
ratios ``payment_read / baseline_read`` (the target is at least 0.5) and ``payment_read / baseline``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from pathlib import Path
from typing import Any

import aiohttp

from _common import (
    HOST, Child, KopekClient, PhaseResult, add_output_arguments, add_run_arguments, check_run_arguments,
    create_merchant, expect, free_port, machine_info, print_machine, print_notes, print_ratios, print_results,
    run_baseline_server, run_phases, server_problems, start_baseline, start_kopek, Unexpected, wait_for_servers,
    workspace,
)


async def seed(session: aiohttp.ClientSession, client: KopekClient, baseline_url: str, count: int) -> list[str]:
    """`count` payments on Kopek and their public JSON as the baseline's rows 1..count."""
    ids = []
    for _ in range(count):
        payment = await client.create_payment()
        async with session.post(f"{baseline_url}/insert", json=payment) as r:
            await expect(r, 201, "seed insert")
        ids.append(payment["id"])
    return ids


async def measure(args: argparse.Namespace, baseline: Child, baseline_url: str, kopek: Child, kopek_url: str,
                  secret_key: str) -> dict[str, PhaseResult]:
    connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        await wait_for_servers(session, baseline, baseline_url, kopek, kopek_url)
        client = KopekClient(session, kopek_url, secret_key)
        payment_ids = await seed(session, client, baseline_url, args.payments)

        async def hello() -> None:
            async with session.get(f"{baseline_url}/hello") as r:
                await expect(r, 200, "hello")

        async def read_row() -> None:
            async with session.get(f"{baseline_url}/read/{random.randint(1, args.payments)}") as r:
                await expect(r, 200, "read")

        async def read_payment() -> None:
            payment_id = random.choice(payment_ids)
            async with session.get(f"{kopek_url}/v1/payments/{payment_id}", headers=client.auth) as r:
                body = await expect(r, 200, "payment read")
            if body["id"] != payment_id:
                raise Unexpected("wrong payment", f"asked {payment_id}, got {body['id']}")

        return await run_phases([("baseline", hello, baseline), ("baseline_read", read_row, baseline),
                                 ("payment_read", read_payment, kopek)], args)


def report(results: dict[str, PhaseResult], args: argparse.Namespace, problems: dict[str, Any]) -> dict[str, Any]:
    read = results["payment_read"].per_second

    def ratio(name: str) -> float | None:
        base = results[name].per_second
        return round(read / base, 4) if base else None

    return {"machine": machine_info(),
            "settings": {"seconds": args.seconds, "warmup": args.warmup, "concurrency": args.concurrency,
                         "payments": args.payments},
            "results": {name: r.to_json() for name, r in results.items()},
            "ratios": {"payment_read/baseline_read": ratio("baseline_read"),
                       "payment_read/baseline": ratio("baseline")},
            "server_problems": problems}


def print_table(data: dict[str, Any]) -> None:
    s = data["settings"]
    print_machine(data["machine"])
    print(f"run: {s['concurrency']} concurrent workers, {s['seconds']:g}s per phase (+{s['warmup']:g}s warm-up),"
          f" {s['payments']} payments")
    print()
    print_results(data["results"])
    print()
    print_ratios(data["ratios"])
    print_notes(data)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_arguments(parser)
    parser.add_argument("--payments", type=int, default=500, help="payments to read from (default 500)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    check_run_arguments(parser, args)
    if args.payments < 1:
        parser.error("--payments must be >= 1")
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
        children.append(start_kopek(db_path, kopek_port, workdir))
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
