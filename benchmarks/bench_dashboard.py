"""Kopek dashboard benchmark: how fast the merchant dashboard's pages answer, next to bare aiohttp.

Run:  python benchmarks/bench_dashboard.py [--payments N] [--seconds S] [--concurrency C] [--json]

Two real servers are started as child processes on free 127.0.0.1 ports, as in bench_payments.py:
the bare aiohttp *baseline* (``POST /echo``) and *Kopek* itself
(``python -m kopek --db <tmp>/kopek.db serve --sandbox-time-scale 0.001`` on a fresh SQLite file).

Setup, not measured:

* a shop signs up through the dashboard forms like a browser: GET /dashboard/signup for the CSRF
  token, POST the form (email, password, shop name), read the test secret key off the keys page.
  The client keeps its cookies in a jar that treats the loopback origin as secure (Kopek's session
  cookie is ``Secure``), and stays logged in as the shop's owner;
* N payments (default 10,000) are seeded **through the server API** with that secret key, with
  16 concurrent clients (``--seed-concurrency``): ``POST /v1/payments`` in RUB, amounts 1.00 to
  1,000.00 spread uniformly (a fixed random seed), lifetime one day (nothing expires during the
  run). A share of them (``--succeeded-share``, default 2%, spread evenly through the creation
  order) is paid through the sandbox checkout (WebMoney simulator, as in bench_payments) until
  ``succeeded``; the rest stay ``requires_wallet``. The API stamps ``created_at`` with the server's
  clock, so all of them were created within the last minute: the date filter below selects them all
  and the other conditions have to be checked row by row.

Then, each phase with C concurrent workers for S seconds after a warm-up (as in bench_payments):

a. ``baseline``            POST /echo on the bare aiohttp server;
b. ``dashboard_list``      GET /dashboard/payments (first page, 25 rows) with the owner's session;
c. ``dashboard_filtered``  GET /dashboard/payments?status=succeeded&amount_min=500&created_from=<the
   seeding day>: succeeded payments of 500.00 or more (about 1% of them), so the list walks the
   merchant's index newest first and checks status and amount on each row until it has a page;
d. ``dashboard_detail``    GET /dashboard/payments/{id} for a random seeded payment;
e. ``login``               a fresh login: GET /dashboard/login (for the CSRF token and the session
   it belongs to), then POST /dashboard/login with the right password (argon2id verification on a
   worker thread). The pair counts as **one** operation. Each worker has its own cookie jar,
   emptied before each login, so every login starts from a new browser session.

Every response is checked, and anything else counts as an error: the list pages must be 200 and
show exactly the rows the seeded data says (the 25 newest, or the 25 newest that match the filter,
in order); the detail page must be 200 and show the payment's id and status; the login page must be
200 with a CSRF token, and the login a 303 to /dashboard/payments that sets a new session cookie.

It prints ops/s, p50/p95 ms, errors and each phase's ratio to the baseline, like bench_payments.py
(``--json`` for one JSON object). Client and servers share the machine, so absolute numbers are
indicative only; the ratios are the portable part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp

from _common import (
    HOST, Child, KopekClient, PhaseResult, Unexpected, add_output_arguments, add_run_arguments,
    check_run_arguments, echo_operation, free_port, machine_info, print_machine, print_notes, print_ratios,
    print_results, ratios_to_baseline, run_baseline_server, run_phases, server_problems, start_baseline,
    start_kopek, wait_for_servers, workspace,
)

EMAIL = "owner@bench.test"
PASSWORD = "correct horse battery staple"
SHOP_NAME = "Bench shop"
LIST_PATH = "/dashboard/payments"
PAGE_ROWS = 25                        # the list's default page size
AMOUNT_RANGE = (100, 100_000)         # minor units (kopecks): 1.00 to 1,000.00 RUB
SEED_TTL_S = 86_400                   # the seeded payments must not expire during the run
RANDOM_SEED = 20_260_101
FILTER_STATUS = "succeeded"
FILTER_AMOUNT_MIN = "500"             # major units, as typed in the form: 50,000 kopecks
FILTER_AMOUNT_MIN_MINOR = 50_000
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=30)

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
ROW_RE = re.compile(r'<tr data-payment-id="(pay_[A-Za-z0-9]+)"')
SECRET_KEY_RE = re.compile(r'id="sk-test" class="secret">([^<]+)<')
SESSION_COOKIE = "kopek_session"
Operation = Callable[[], Awaitable[None]]
PHASES = ("baseline", "dashboard_list", "dashboard_filtered", "dashboard_detail", "login")


# ----------------------------------------------------------------------------- a browser

class Browser:
    """One browser: its own cookie jar, redirects not followed (a redirect to the login page is
    an error here, not a page). Kopek's session cookie is Secure; on a loopback http origin a browser
    sends it back anyway, and so does this jar (treat_as_secure_origin)."""

    def __init__(self, base_url: str, connections: int) -> None:
        self.base_url = base_url
        self.jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[base_url])
        self.http = aiohttp.ClientSession(cookie_jar=self.jar, timeout=CLIENT_TIMEOUT,
                                          connector=aiohttp.TCPConnector(limit=connections))

    async def close(self) -> None:
        await self.http.close()

    async def page(self, path: str, what: str, params: dict[str, str] | None = None) -> str:
        """GET a page that must answer 200; its HTML."""
        async with self.http.get(self.base_url + path, params=params, allow_redirects=False) as r:
            text = await r.text()
        if r.status != 200:
            raise Unexpected(f"{what} HTTP {r.status}", _describe(r, text))
        return text

    async def post_form(self, path: str, fields: dict[str, str], page: str, what: str,
                        status: int) -> tuple[aiohttp.ClientResponse, str]:
        """POST a form as the page would, with the page's CSRF token; the answer must have `status`."""
        async with self.http.post(self.base_url + path, data={**fields, "csrf_token": csrf(page, what)},
                                  allow_redirects=False) as r:
            text = await r.text()
        if r.status != status:
            raise Unexpected(f"{what} HTTP {r.status}", _describe(r, text))
        return r, text

    def session_cookie(self) -> str | None:
        return next((c.value for c in self.jar if c.key == SESSION_COOKIE), None)


def csrf(page: str, what: str) -> str:
    match = CSRF_RE.search(page)
    if not match:
        raise Unexpected(f"{what} no CSRF token", page[:300])
    return match.group(1)


def _describe(response: aiohttp.ClientResponse, text: str) -> str:
    location = response.headers.get("Location")
    return (f"-> {location} " if location else "") + re.sub(r"\s+", " ", text[:300])


async def sign_up(owner: Browser) -> str:
    """Sign the shop up through the forms, then log in for the first time (that login shows the
    keys once); the owner stays logged in. Returns the test secret key."""
    page = await owner.page("/dashboard/signup", "signup page")
    await owner.post_form("/dashboard/signup", {"email": EMAIL, "password": PASSWORD, "shop_name": SHOP_NAME},
                          page, "signup", 303)
    page = await owner.page("/dashboard/login", "login page")
    _, keys_page = await owner.post_form("/dashboard/login", {"email": EMAIL, "password": PASSWORD},
                                         page, "first login", 200)
    match = SECRET_KEY_RE.search(keys_page)
    if not match or not owner.session_cookie():
        raise RuntimeError(f"sign-up showed no test secret key or set no session: {keys_page[:500]}")
    return match.group(1).strip()


# ----------------------------------------------------------------------------- seeding

@dataclass(frozen=True)
class Seeded:
    id: str
    created_at: str
    amount: int
    status: str


def newest_first(payments: list[Seeded]) -> list[Seeded]:
    """The dashboard's order: created_at, then id, both descending (text order, as SQLite's)."""
    return sorted(payments, key=lambda p: (p.created_at, p.id), reverse=True)


async def seed(client: KopekClient, count: int, succeeded_share: float, concurrency: int) -> list[Seeded]:
    """`count` payments through the API; every 1/succeeded_share-th one paid until it has succeeded."""
    rng = random.Random(RANDOM_SEED)
    amounts = [rng.randint(*AMOUNT_RANGE) for _ in range(count)]
    paid = [int((i + 1) * succeeded_share) > int(i * succeeded_share) for i in range(count)]
    todo = iter(range(count))       # shared: each index is taken by one worker
    seeded: list[Seeded] = []
    report_every = max(1, count // 10)

    async def worker() -> None:
        for i in todo:
            payment = await client.create_payment(amounts[i], expires_in=SEED_TTL_S)
            if payment["amount"] != amounts[i] or payment["status"] != "requires_wallet" or payment["livemode"]:
                raise Unexpected("seeded payment", json.dumps(payment)[:300])
            if paid[i]:
                await client.pay(payment)
            seeded.append(Seeded(payment["id"], payment["created_at"], amounts[i],
                                 "succeeded" if paid[i] else payment["status"]))
            if len(seeded) % report_every == 0:
                print(f"[bench] seeded {len(seeded)}/{count}", file=sys.stderr, flush=True)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, count)):
                group.create_task(worker())
    except* (Unexpected, aiohttp.ClientError, TimeoutError) as failed:
        raise RuntimeError(f"seeding failed after {len(seeded)} payments: {failed.exceptions[0]!r}") from None
    return seeded


@dataclass(frozen=True)
class Expected:
    """What the pages must show, worked out from the seeded payments."""

    first_page: list[str]
    filter_params: dict[str, str]
    filter_matches: int
    filtered_page: list[str]
    details: list[tuple[str, str]]   # (id, status) of every seeded payment

    @classmethod
    def of(cls, seeded: list[Seeded]) -> Expected:
        day = min(p.created_at for p in seeded)[:10]          # YYYY-MM-DD (UTC) of the first payment
        params = {"status": FILTER_STATUS, "amount_min": FILTER_AMOUNT_MIN, "created_from": day}
        matching = [p for p in seeded if p.status == FILTER_STATUS and p.amount >= FILTER_AMOUNT_MIN_MINOR
                    and p.created_at >= f"{day}T00:00:00.000000Z"]
        return cls(first_page=[p.id for p in newest_first(seeded)[:PAGE_ROWS]], filter_params=params,
                   filter_matches=len(matching), filtered_page=[p.id for p in newest_first(matching)[:PAGE_ROWS]],
                   details=[(p.id, p.status) for p in seeded])


# ----------------------------------------------------------------------------- the phases' operations

def check_rows(page: str, expected: list[str], what: str) -> None:
    rows = ROW_RE.findall(page)
    if rows != expected:
        raise Unexpected(f"{what} rows", f"{len(rows)} rows, first {rows[:2]}; expected {len(expected)},"
                                         f" first {expected[:2]}")


def dashboard_operations(owner: Browser, expected: Expected) -> dict[str, Operation]:
    picker = random.Random(RANDOM_SEED + 1)

    async def list_once() -> None:
        check_rows(await owner.page(LIST_PATH, "list"), expected.first_page, "list")

    async def filtered_once() -> None:
        page = await owner.page(LIST_PATH, "filtered", expected.filter_params)
        check_rows(page, expected.filtered_page, "filtered")

    async def detail_once() -> None:
        payment_id, status = picker.choice(expected.details)
        page = await owner.page(f"{LIST_PATH}/{payment_id}", "detail")
        if f'<code>{payment_id}</code> <span class="status status-{status}">' not in page:
            raise Unexpected("detail content", f"{payment_id} ({status}) not in the page's heading")

    return {"dashboard_list": list_once, "dashboard_filtered": filtered_once, "dashboard_detail": detail_once}


def login_operation(browsers: list[Browser]) -> Operation:
    """Each worker takes a browser of its own from the pool for the whole login and puts it back."""
    idle = list(browsers)

    async def login_once() -> None:
        browser = idle.pop()
        try:
            browser.jar.clear()            # a new browser session, as after closing the browser
            page = await browser.page("/dashboard/login", "login page")
            before = browser.session_cookie()
            response, _ = await browser.post_form("/dashboard/login", {"email": EMAIL, "password": PASSWORD,
                                                                       "next": ""}, page, "login", 303)
            if response.headers.get("Location") != LIST_PATH:
                raise Unexpected("login redirect", str(response.headers.get("Location")))
            after = browser.session_cookie()
            if not after or after == before:
                raise Unexpected("login session", "no new session cookie after logging in")
        finally:
            idle.append(browser)

    return login_once


# ----------------------------------------------------------------------------- orchestration

async def measure(args: argparse.Namespace, baseline: Child, baseline_url: str, kopek: Child,
                  kopek_url: str) -> tuple[dict[str, PhaseResult], dict[str, Any]]:
    connector = aiohttp.TCPConnector(limit=max(args.concurrency, args.seed_concurrency) * 2)
    owner = Browser(kopek_url, args.concurrency * 2)
    login_browsers = [Browser(kopek_url, 2) for _ in range(args.concurrency)]
    async with aiohttp.ClientSession(connector=connector, timeout=CLIENT_TIMEOUT) as session:
        try:
            await wait_for_servers(session, baseline, baseline_url, kopek, kopek_url)
            secret_key = await sign_up(owner)
            print(f"[bench] seeding {args.payments} payments ({args.succeeded_share:.0%} paid) through the API,"
                  f" {args.seed_concurrency} clients", file=sys.stderr, flush=True)
            started = time.monotonic()
            seeded = await seed(KopekClient(session, kopek_url, secret_key), args.payments,
                                args.succeeded_share, args.seed_concurrency)
            seed_s = time.monotonic() - started
            expected = Expected.of(seeded)
            dashboard = dashboard_operations(owner, expected)
            results = await run_phases([("baseline", echo_operation(session, baseline_url)),
                                        *dashboard.items(), ("login", login_operation(login_browsers))], args)
        finally:
            for browser in (owner, *login_browsers):
                await browser.close()
    succeeded = sum(1 for p in seeded if p.status == "succeeded")
    return results, {"payments": len(seeded), "succeeded": succeeded, "seconds": round(seed_s, 1),
                     "per_second": round(len(seeded) / seed_s, 1) if seed_s else None,
                     "filter": expected.filter_params, "filter_matches": expected.filter_matches,
                     "filter_rows": len(expected.filtered_page)}


def report(results: dict[str, PhaseResult], seeding: dict[str, Any], args: argparse.Namespace,
           problems: dict[str, Any]) -> dict[str, Any]:
    return {"machine": machine_info(),
            "settings": {"seconds": args.seconds, "warmup": args.warmup, "concurrency": args.concurrency,
                         "sandbox_time_scale": args.time_scale, "payments": args.payments,
                         "succeeded_share": args.succeeded_share, "seed_concurrency": args.seed_concurrency},
            "seeding": seeding,
            "results": {name: r.to_json() for name, r in results.items()},
            "ratios": ratios_to_baseline(results, PHASES[1:]),
            "server_problems": problems}


def print_table(data: dict[str, Any]) -> None:
    s, seeding = data["settings"], data["seeding"]
    print_machine(data["machine"])
    print(f"run: {s['concurrency']} concurrent workers, {s['seconds']:g}s per phase"
          f" (+{s['warmup']:g}s warm-up), sandbox time scale {s['sandbox_time_scale']:g}")
    print(f"seeded: {seeding['payments']} payments through the API ({seeding['succeeded']} paid to succeeded)"
          f" in {seeding['seconds']:g}s, {seeding['per_second']:g}/s")
    query = "&".join(f"{k}={v}" for k, v in seeding["filter"].items())
    print(f"filtered: ?{query} matches {seeding['filter_matches']} of {seeding['payments']}"
          f" ({seeding['filter_matches'] / max(1, seeding['payments']):.1%}), first page {seeding['filter_rows']} rows")
    print("login: one operation = GET /dashboard/login + POST /dashboard/login (argon2id)")
    print()
    print_results(data["results"])
    print()
    print_ratios(data["ratios"])
    print_notes(data)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_arguments(parser)
    parser.add_argument("--payments", type=int, default=10_000, help="payments to seed (default 10000)")
    parser.add_argument("--succeeded-share", type=float, default=0.02,
                        help="share of them paid through the sandbox checkout (default 0.02)")
    parser.add_argument("--seed-concurrency", type=int, default=16, help="clients seeding payments (default 16)")
    parser.add_argument("--time-scale", type=float, default=0.001, help="Kopek --sandbox-time-scale (default 0.001)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    check_run_arguments(parser, args)
    if args.payments < 1 or not 0 <= args.succeeded_share <= 1 or args.seed_concurrency < 1:
        parser.error("--payments must be >= 1, --succeeded-share within 0..1, --seed-concurrency >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_baseline:
        run_baseline_server(args.serve_baseline)
        return 0
    with workspace(args.log_dir) as (workdir, children):
        baseline_port, kopek_port = free_port(), free_port()
        children.append(start_baseline(Path(__file__).resolve(), baseline_port, workdir))
        children.append(start_kopek(workdir / "kopek.db", kopek_port, workdir,
                                    "--sandbox-time-scale", str(args.time_scale)))
        results, seeding = asyncio.run(measure(args, children[0], f"http://{HOST}:{baseline_port}",
                                               children[1], f"http://{HOST}:{kopek_port}"))
        data = report(results, seeding, args, server_problems(children[1]))
        if args.json:
            print(json.dumps(data, indent=2))
        else:
            print_table(data)
        return 0


if __name__ == "__main__":
    sys.exit(main())
