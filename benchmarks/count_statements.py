"""How many SQL statements one complete sandbox payment costs, by connection and by kind.

Run:  python benchmarks/count_statements.py [--payments N] [--json]

Kopek runs in this process (aiohttp's AppRunner on a free 127.0.0.1 port) on a fresh SQLite file,
with sqlite3's trace callback on each of the store's connections. The same client as
bench_payments.py's ``complete_payments`` phase then pays N payments one after another (create,
attempt, code from the sandbox phone, confirm, poll until ``succeeded``), after one payment of
warm-up that is not counted. It prints the statements per payment:

* on the *writer* (every INSERT, UPDATE, DELETE, and the SELECTs inside a unit of work, plus each
  unit's BEGIN and COMMIT): the figure that bounds a single writer's payments per second;
* on the *reader* (point reads on the loop's thread) and the *scanner* (whole-table reads on a
  worker thread).

Reads include the client's polls of GET /v1/payments/{id} and /sandbox/phone.json, whose number
depends on timing; the writer's count does not. Background loops (expiry sweep, reconciler,
webhook retries) run as in a real server and are counted too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import aiohttp
from aiohttp import web

from _common import BACKEND, HOST, KopekClient, create_merchant, free_port, machine_info, print_machine

sys.path.insert(0, str(BACKEND))

from kopek import keys  # noqa: E402
from kopek.app import create_app  # noqa: E402
from kopek.settings import Settings  # noqa: E402

LIFTED_GUESS_LIMITS = {name: 1_000_000_000 for name in (
    "wrong_codes_per_account", "wrong_codes_per_ip", "codes_sent_per_account", "codes_sent_per_ip")}


class StatementCounter:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def callback(self, name: str) -> Callable[[str], None]:
        return lambda sql: self.counts.update([(name, _kind(sql))])

    def reset(self) -> None:
        self.counts.clear()


def _kind(sql: str) -> str:
    return sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"


async def watch_store(store: Any, counter: StatementCounter) -> None:
    store._writer.sqlite.set_trace_callback(counter.callback("writer"))
    store._reader.sqlite.set_trace_callback(counter.callback("reader"))
    scanner = store._scanner  # an aiosqlite connection: its sqlite3 connection lives on its own thread
    await scanner._execute(scanner._conn.set_trace_callback, counter.callback("scanner"))


async def count(payments: int, workdir: Path) -> Counter[tuple[str, str]]:
    db_path, port = workdir / "kopek.db", free_port()
    secret_key = create_merchant(db_path)
    settings = Settings(host=HOST, port=port, db_path=db_path, sandbox_time_scale=0.001, **LIFTED_GUESS_LIMITS)
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    counter = StatementCounter()
    try:
        await watch_store(runner.app[keys.STORE], counter)
        async with aiohttp.ClientSession() as session:
            client = KopekClient(session, f"http://{HOST}:{port}", secret_key)
            await client.complete_payment()
            counter.reset()
            for _ in range(payments):
                await client.complete_payment()
            await asyncio.sleep(0.2)  # the webhook and ledger work a success sets off
        return Counter(counter.counts)
    finally:
        await runner.cleanup()


def report(counts: Counter[tuple[str, str]], payments: int) -> dict[str, Any]:
    per_connection: dict[str, dict[str, float]] = {}
    for (connection, kind), n in sorted(counts.items()):
        per_connection.setdefault(connection, {})[kind] = round(n / payments, 2)
    totals = {connection: round(sum(kinds.values()), 2) for connection, kinds in per_connection.items()}
    return {"machine": machine_info(), "payments": payments, "per_payment": per_connection, "totals": totals}


def print_report(data: dict[str, Any]) -> None:
    print_machine(data["machine"])
    print(f"SQL statements per complete sandbox payment (mean of {data['payments']}):")
    for connection, kinds in data["per_payment"].items():
        detail = ", ".join(f"{kind} {n:g}" for kind, n in kinds.items())
        print(f"  {connection:8} {data['totals'][connection]:6g}   ({detail})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=20, help="counted payments (default 20)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = parser.parse_args(argv)
    if args.payments < 1:
        parser.error("--payments must be at least 1")
    with tempfile.TemporaryDirectory(prefix="kopek-count-") as workdir:
        data = report(asyncio.run(count(args.payments, Path(workdir))), args.payments)
    if args.json:
        print(json.dumps(data))
    else:
        print_report(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
