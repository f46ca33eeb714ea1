"""What the Kopek benchmarks share: the bare aiohttp baseline, child servers on free 127.0.0.1 ports,
timed phases of concurrent workers, a small client for Kopek's payment API, and the common parts of
the report (machine, results table, ratios, errors, suspicious server log lines).

Used by bench_payments.py and bench_dashboard.py, which are run as scripts (so this directory is on
sys.path and `from _common import ...` works from any working directory).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import aiohttp

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
BACKEND = REPO / "backend"
SUCCEEDS_ACCOUNT = "R100000000001"  # the WebMoney simulator's "always succeeds" wallet
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
PAYMENT_TIMEOUT_S = 5.0  # a sandbox payment at time scale 0.001 takes well under a second
PHASE_PAUSE_S = 0.5
STUCK_AFTER_S = 1.0  # an operation still running this long at the deadline is worth a line
POLL_INTERVAL_S = 0.005
MAX_ERROR_SAMPLES = 5
ECHO_PAYLOAD = {"amount": 500, "currency": "RUB", "order_id": "x" * 16, "metadata": {"k": "v"}}


# ----------------------------------------------------------------------------- baseline server

def run_baseline_server(port: int) -> None:
    """The child process body: a bare aiohttp app (no access log) with POST /echo; POST /insert,
    which also writes the body with one aiosqlite INSERT and COMMIT per request, on a WAL file with
    the pragmas Kopek's store uses: what "one commit per request" costs on this machine; GET /hello,
    a constant JSON answer; and GET /read/{id}, which answers one row read by primary key."""
    import aiosqlite
    from aiohttp import web

    async def echo(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"ok": True, "n": len(body)}, status=201)

    async def insert(request: web.Request) -> web.Response:
        body = await request.json()
        db = request.app["db"]
        async with request.app["lock"]:
            await db.execute("BEGIN IMMEDIATE")
            await db.execute("INSERT INTO rows (body) VALUES (?)", (json.dumps(body),))
            await db.execute("COMMIT")
        return web.json_response({"ok": True, "n": len(body)}, status=201)

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def read(request: web.Request) -> web.Response:
        """One point read by primary key, as a payment is read (aiosqlite, the writer's connection)."""
        async with request.app["db"].execute("SELECT body FROM rows WHERE id=?",
                                             (int(request.match_info["id"]),)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise web.HTTPNotFound()
        return web.json_response(json.loads(row[0]))

    async def database(app: web.Application):
        folder = Path(tempfile.mkdtemp(prefix="kopek-bench-baseline-"))
        app["db"] = await aiosqlite.connect(folder / "baseline.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            await app["db"].execute(f"PRAGMA {pragma}")
        await app["db"].execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        app["lock"] = asyncio.Lock()
        yield
        await app["db"].close()
        shutil.rmtree(folder, ignore_errors=True)

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_post("/insert", insert)
    app.router.add_get("/hello", hello)
    app.router.add_get("/read/{id}", read)
    app.cleanup_ctx.append(database)
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)


# ----------------------------------------------------------------------------- child processes

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def child_env() -> dict[str, str]:
    """Make `kopek` importable from the source tree (ahead of any installed copy)."""
    env = dict(os.environ)
    # Every simulated shopper comes from one address and reuses the magic accounts: lift the
    # limits on codes and PINs across payments, which would otherwise refuse them.
    for name in ("WRONG_CODES_PER_ACCOUNT", "WRONG_CODES_PER_IP", "CODES_SENT_PER_ACCOUNT", "CODES_SENT_PER_IP"):
        env.setdefault(f"KOPEK_{name}", "1000000000")
    if BACKEND.is_dir():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BACKEND), env.get("PYTHONPATH", "")) if p)
    return env


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_child(name: str, argv: list[str], log_path: Path) -> Child:
    log = open(log_path, "wb")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=child_env(), start_new_session=True)
    finally:
        log.close()  # the child holds its own descriptor
    return Child(name, proc, log_path)


def stop_child(child: Child) -> int | None:
    """SIGINT (aiohttp shuts down gracefully), then SIGKILL if it does not exit in time."""
    if child.proc.poll() is None:
        try:
            child.proc.send_signal(signal.SIGINT)
            child.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print(f"[bench] {child.name} ignored SIGINT for {STOP_TIMEOUT_S:.0f}s, killing it", file=sys.stderr)
            child.proc.kill()
            child.proc.wait(timeout=STOP_TIMEOUT_S)
        except ProcessLookupError:
            pass
    return child.proc.returncode


def start_baseline(script: Path, port: int, workdir: Path) -> Child:
    """The baseline runs as `python <script> --serve-baseline PORT` (see add_output_arguments)."""
    return start_child("baseline", [sys.executable, str(script), "--serve-baseline", str(port)],
                       workdir / "baseline.log")


def start_kopek(db_path: Path, port: int, workdir: Path, *serve_args: str) -> Child:
    """`python -m kopek --db DB serve --host 127.0.0.1 --port PORT [serve_args...]`."""
    return start_child("kopek", [sys.executable, "-m", "kopek", "--db", str(db_path), "serve",
                                 "--host", HOST, "--port", str(port), *serve_args], workdir / "kopek.log")


def create_merchant(db_path: Path, origin: str = "http://localhost:9") -> str:
    """`kopek merchant create --json` with one allowed origin; returns its sandbox secret key."""
    argv = [sys.executable, "-m", "kopek", "--db", str(db_path), "merchant", "create",
            "--name", "Bench", "--origin", origin, "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, env=child_env(), timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"merchant create failed ({done.returncode}): {done.stderr.strip()}")
    last_line = done.stdout.strip().splitlines()[-1]
    return json.loads(last_line)["secret_key"]


@contextmanager
def workspace(log_dir: Path | None) -> Iterator[tuple[Path, list[Child]]]:
    """A temp dir and a list for the children started in it. On the way out, always: the children
    are stopped (an unexpected exit code is reported with the end of its log), their logs copied to
    `log_dir` if given, and the temp dir removed."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` still stops the children
    workdir = Path(tempfile.mkdtemp(prefix="kopek-bench-"))
    children: list[Child] = []
    try:
        yield workdir, children
    finally:
        for child in reversed(children):
            code = stop_child(child)
            if code not in (0, -signal.SIGINT, 130):
                print(f"[bench] {child.name} exited with {code}; last log lines:\n{child.log_tail(15)}",
                      file=sys.stderr)
        if log_dir:
            log_dir.mkdir(parents=True, exist_ok=True)
            for child in children:
                shutil.copy(child.log_path, log_dir / child.log_path.name)
        shutil.rmtree(workdir, ignore_errors=True)


async def wait_until_up(child: Child, probe: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.log_tail()}")
        try:
            if await probe():
                return
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{child.name} did not answer within {STARTUP_TIMEOUT_S:.0f}s:\n{child.log_tail()}")


async def wait_for_servers(session: aiohttp.ClientSession, baseline: Child, baseline_url: str,
                           kopek: Child, kopek_url: str) -> None:
    """Until the baseline answers POST /echo and Kopek GET /v1/openapi.json."""
    async def baseline_up() -> bool:
        async with session.post(f"{baseline_url}/echo", json={}) as r:
            return r.status == 201

    async def kopek_up() -> bool:
        async with session.get(f"{kopek_url}/v1/openapi.json") as r:
            return r.status == 200

    await wait_until_up(baseline, baseline_up)
    await wait_until_up(kopek, kopek_up)


# ----------------------------------------------------------------------------- measurement

class Unexpected(Exception):
    """A response the benchmark did not expect; counted per phase by `kind`, with a few samples kept."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


@dataclass
class PhaseResult:
    name: str
    seconds: float
    concurrency: int
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    in_flight_at_end: int = 0
    oldest_in_flight_s: float = 0.0
    server_cpu_s: float | None = None  # the server's user + system CPU over the measured window

    @property
    def count(self) -> int:
        return len(self.latencies_s)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def server_cpu_ms_per_op(self) -> float | None:
        return self.server_cpu_s * 1000 / self.count if self.server_cpu_s is not None and self.count else None

    def percentile_ms(self, q: float) -> float | None:
        if not self.latencies_s:
            return None
        ordered = sorted(self.latencies_s)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index] * 1000

    def to_json(self) -> dict[str, Any]:
        return {"ops": self.count, "seconds": round(self.seconds, 3), "per_second": round(self.per_second, 1),
                "p50_ms": _round(self.percentile_ms(0.50)), "p95_ms": _round(self.percentile_ms(0.95)),
                "server_cpu_ms_per_op": _round(self.server_cpu_ms_per_op, 3),
                "errors": dict(self.errors), "error_samples": self.error_samples,
                "in_flight_at_end": self.in_flight_at_end, "oldest_in_flight_s": round(self.oldest_in_flight_s, 2)}


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and all its threads so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


async def expect(response: aiohttp.ClientResponse, status: int, what: str) -> Any:
    body = await response.read()
    if response.status != status:
        raise Unexpected(f"{what} HTTP {response.status}", body[:300].decode(errors="replace"))
    return json.loads(body)


async def run_phase(name: str, operation: Callable[[], Awaitable[None]], *, seconds: float, warmup: float,
                    concurrency: int, server_pid: int | None = None) -> PhaseResult:
    """C workers repeat `operation` until the deadline, when the ones still running are cancelled.

    Only operations that start after the warm-up and end before the deadline count; the ones cut
    off at the deadline are reported as `in_flight_at_end` with the age of the oldest. With a
    `server_pid`, the server's CPU time over the same window is recorded too.
    """
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + warmup
    deadline = measure_from + seconds
    result = PhaseResult(name, seconds, concurrency)
    started_at: dict[int, float] = {}  # worker number -> when its current operation began

    async def worker(number: int) -> None:
        while (began := loop.time()) < deadline:
            started_at[number] = began
            try:
                await operation()
            except Unexpected as exc:
                _record_error(result, exc.kind, str(exc))
                await asyncio.sleep(0.01)  # do not spin on a failing endpoint
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                _record_error(result, type(exc).__name__, f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.01)
                continue
            finally:
                started_at.pop(number, None)
            ended = loop.time()
            if began >= measure_from and ended <= deadline:
                result.latencies_s.append(ended - began)

    tasks = [asyncio.create_task(worker(n)) for n in range(concurrency)]
    cpu_at_start = None
    if server_pid is not None:
        await asyncio.sleep(max(0.0, measure_from - loop.time()))
        cpu_at_start = cpu_seconds(server_pid)
    _, running = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
    cpu_at_end = cpu_seconds(server_pid) if server_pid is not None else None
    if cpu_at_start is not None and cpu_at_end is not None:
        result.server_cpu_s = cpu_at_end - cpu_at_start
    now = loop.time()
    result.in_flight_at_end = len(started_at)
    result.oldest_in_flight_s = max((now - t for t in started_at.values()), default=0.0)
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    await asyncio.sleep(PHASE_PAUSE_S)  # let the servers finish what the cancelled requests started
    return result


def _record_error(result: PhaseResult, kind: str, detail: str) -> None:
    result.errors[kind] += 1
    if len(result.error_samples) < MAX_ERROR_SAMPLES:
        result.error_samples.append(detail)


Phase = tuple[str, Callable[[], Awaitable[None]]] | tuple[str, Callable[[], Awaitable[None]], Child]


async def run_phases(phases: list[Phase], args: argparse.Namespace) -> dict[str, PhaseResult]:
    """Each phase in turn, with args.concurrency workers for args.seconds after args.warmup; a phase
    that names the server it loads also reports that server's CPU per operation."""
    results: dict[str, PhaseResult] = {}
    for name, operation, *server in phases:
        print(f"[bench] {name}: {args.concurrency} workers, {args.warmup:g}s warm-up + {args.seconds:g}s",
              file=sys.stderr, flush=True)
        results[name] = await run_phase(name, operation, seconds=args.seconds, warmup=args.warmup,
                                        concurrency=args.concurrency,
                                        server_pid=server[0].proc.pid if server else None)
    return results


def insert_operation(session: aiohttp.ClientSession, baseline_url: str) -> Callable[[], Awaitable[None]]:
    """POST /insert with the same body: parse, one INSERT and COMMIT, answer 201."""
    async def insert_once() -> None:
        async with session.post(f"{baseline_url}/insert", json=ECHO_PAYLOAD) as r:
            await expect(r, 201, "insert")
    return insert_once


def echo_operation(session: aiohttp.ClientSession, baseline_url: str) -> Callable[[], Awaitable[None]]:
    """The baseline phase's operation: POST /echo with a small JSON body, expecting 201."""
    async def echo_once() -> None:
        async with session.post(f"{baseline_url}/echo", json=ECHO_PAYLOAD) as r:
            await expect(r, 201, "echo")
    return echo_once


# ----------------------------------------------------------------------------- Kopek's payment API

@dataclass
class KopekClient:
    session: aiohttp.ClientSession
    base_url: str
    secret_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret_key}"}

    async def create_payment(self, amount: int = 500, **extra: Any) -> dict[str, Any]:
        """POST /v1/payments in RUB with a unique order_id; `extra` goes into the body as is."""
        body = {"amount": amount, "currency": "RUB", "order_id": f"bench-{uuid.uuid4().hex}", **extra}
        async with self.session.post(f"{self.base_url}/v1/payments", json=body, headers=self.auth) as r:
            return await expect(r, 201, "create")

    async def attempt(self, payment: dict[str, Any]) -> dict[str, Any]:
        headers = {"Kopek-Client-Secret": payment["client_secret"], "Idempotency-Key": str(uuid.uuid4())}
        body = {"wallet": "webmoney", "details": {"account": SUCCEEDS_ACCOUNT}}
        async with self.session.post(f"{self.base_url}/v1/checkout/{payment['id']}/attempts",
                                     json=body, headers=headers) as r:
            data = await expect(r, 200, "attempt")
        if data["payment"]["status"] != "requires_confirmation":
            raise Unexpected(f"attempt status {data['payment']['status']}", str(data["payment"].get("last_error")))
        return data

    async def phone_code(self, payment_id: str) -> str:
        deadline = time.monotonic() + 2.0
        while True:
            async with self.session.get(f"{self.base_url}/sandbox/phone.json", params={"payment": payment_id}) as r:
                messages = (await expect(r, 200, "phone"))["data"]
            if messages:
                return messages[0]["code"]
            if time.monotonic() > deadline:
                raise Unexpected("phone no code", payment_id)
            await asyncio.sleep(POLL_INTERVAL_S)

    async def confirm(self, payment: dict[str, Any], code: str) -> None:
        async with self.session.post(f"{self.base_url}/v1/checkout/{payment['id']}/confirm", json={"code": code},
                                     headers={"Kopek-Client-Secret": payment["client_secret"]}) as r:
            await expect(r, 200, "confirm")

    async def wait_succeeded(self, payment_id: str) -> None:
        deadline = time.monotonic() + PAYMENT_TIMEOUT_S
        while True:
            async with self.session.get(f"{self.base_url}/v1/payments/{payment_id}", headers=self.auth) as r:
                status = (await expect(r, 200, "poll"))["status"]
            if status == "succeeded":
                return
            if status not in ("processing", "requires_confirmation"):
                raise Unexpected(f"poll ended {status}", payment_id)
            if time.monotonic() > deadline:
                raise Unexpected("poll timeout", f"still {status} after {PAYMENT_TIMEOUT_S:.0f}s ({payment_id})")
            await asyncio.sleep(POLL_INTERVAL_S)

    async def pay(self, payment: dict[str, Any]) -> None:
        """The shopper's part of a sandbox checkout of an existing payment, until it has succeeded."""
        await self.attempt(payment)
        code = await self.phone_code(payment["id"])
        await self.confirm(payment, code)
        await self.wait_succeeded(payment["id"])

    async def complete_payment(self) -> None:
        await self.pay(await self.create_payment())


# ----------------------------------------------------------------------------- report

def server_problems(child: Child, limit: int = 8) -> dict[str, Any]:
    """Lines of the server log that look like trouble (5xx in the access log, warnings, tracebacks)."""
    try:
        lines = child.log_path.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    hits = [line for line in lines
            if "Traceback" in line or " ERROR " in line or " WARNING " in line or '" 5' in line]
    return {"count": len(hits), "first": hits[:limit]}


def machine_info() -> dict[str, Any]:
    return {"nproc": os.cpu_count(), "python": platform.python_version(),
            "implementation": platform.python_implementation(), "platform": platform.platform(),
            "aiohttp": aiohttp.__version__}


def ratios_to_baseline(results: dict[str, PhaseResult], names: tuple[str, ...]) -> dict[str, float | None]:
    base = results["baseline"].per_second
    return {f"{name}/baseline": round(results[name].per_second / base, 4) if base else None for name in names}


def print_machine(m: dict[str, Any]) -> None:
    print(f"machine: nproc={m['nproc']}  python {m['python']} ({m['implementation']})  aiohttp {m['aiohttp']}"
          f"  {m['platform']}")


def print_results(results: dict[str, dict[str, Any]]) -> None:
    print(f"{'phase':<20}{'ops':>8}{'ops/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'cpu ms/op':>11}{'errors':>8}"
          f"{'cut off':>9}")
    for name, r in results.items():
        p50 = "-" if r["p50_ms"] is None else f"{r['p50_ms']:.2f}"
        p95 = "-" if r["p95_ms"] is None else f"{r['p95_ms']:.2f}"
        cpu = "-" if r.get("server_cpu_ms_per_op") is None else f"{r['server_cpu_ms_per_op']:.3f}"
        print(f"{name:<20}{r['ops']:>8}{r['per_second']:>10.1f}{p50:>10}{p95:>10}{cpu:>11}"
              f"{sum(r['errors'].values()):>8}{r['in_flight_at_end']:>9}")


def print_ratios(ratios: dict[str, float | None]) -> None:
    for name, value in ratios.items():
        print(f"{name:<30} {'-' if value is None else f'{value:.4f}'}")


def print_notes(data: dict[str, Any]) -> None:
    """Below the table: errors by kind with samples, operations stuck at the deadline, and
    suspicious lines of Kopek's log."""
    for name, r in data["results"].items():
        if r["errors"]:
            kinds = ", ".join(f"{kind} x{count}" for kind, count in sorted(r["errors"].items()))
            print(f"\nerrors in {name} (warm-up included): {kinds}")
            for sample in r["error_samples"]:
                print(f"  e.g. {sample}")
        if r["oldest_in_flight_s"] > STUCK_AFTER_S:
            print(f"{name}: {r['in_flight_at_end']} operations cut off at the deadline,"
                  f" the oldest running for {r['oldest_in_flight_s']:.2f}s")
    problems = data["server_problems"]
    if problems["count"]:
        print(f"\nKopek log: {problems['count']} suspicious lines (5xx, WARNING, ERROR, Traceback), first ones:")
        for line in problems["first"]:
            print(f"  {line}")


# ----------------------------------------------------------------------------- command line

def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="uncounted seconds before each phase (default 1)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent client workers (default 16)")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument("--log-dir", type=Path, help="copy the servers' logs here before the temp dir is removed")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)


def check_run_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.seconds <= 0 or args.warmup < 0 or args.concurrency < 1:
        parser.error("--seconds must be > 0, --warmup >= 0, --concurrency >= 1")
