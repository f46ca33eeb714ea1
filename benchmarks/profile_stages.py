"""Where Kopek's CPU goes in a complete payment, split by stage, from a py-spy profile under load.

Run:  python benchmarks/profile_stages.py [--seconds N] [--concurrency C] [--json]

Kopek runs as a child process (``kopek serve``, sandbox time scale 0.001) with one merchant and one
webhook endpoint, served by a receiver in this process. C workers each repeat the whole checkout
as a widget does it: create the payment (secret key), open the live socket (``state: true``),
attempt with WebMoney, read the code from the sandbox phone, confirm, and wait on the socket for
``payment.succeeded``; the webhook receiver counts the ``payment.succeeded`` deliveries.

After a warm-up, ``py-spy record`` samples the server for N seconds while the server's CPU time is
read from /proc. Each sample is put in a stage by ``stages.classify`` (SQL, HTTP in and out,
validation, provider HTTP, signing, push, webhook, logging, payment logic, the event loop; the
built-in simulators apart, since they stand in for the wallets). The report gives each stage's
share and its milliseconds of CPU per payment, Kopek's total without the simulators, and the
ratio to the 2 ms target. It needs py-spy (``pip install py-spy``) and the right to attach to a
child process (ptrace).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from _common import (
    HOST, KopekClient, Unexpected, add_run_arguments, check_run_arguments, cpu_seconds,
    create_merchant, expect, free_port, machine_info, print_machine, start_kopek, wait_until_up, workspace,
)
from stages import SIMULATORS, stage_samples

TARGET_MS = 2.0
SOCKET_TIMEOUT_S = 5.0


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy")
    return found


class Receiver:
    """The shop's webhook endpoint: answers 200 and counts what arrives."""

    def __init__(self) -> None:
        self.deliveries = 0

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.deliveries += 1
        return web.Response(text="ok")


async def pay_on_the_socket(client: KopekClient) -> None:
    payment = await client.create_payment()
    live = client.base_url.replace("http", "ws", 1) + f"/v1/checkout/{payment['id']}/live"
    async with client.session.ws_connect(live) as ws:
        await ws.send_json({"type": "auth", "client_secret": payment["client_secret"], "after": 0, "state": True})
        await client.attempt(payment)
        await client.confirm(payment, await client.phone_code(payment["id"]))
        while True:
            message = await ws.receive_json(timeout=SOCKET_TIMEOUT_S)
            if message["type"] == "event" and message["event"]["type"] == "payment.succeeded":
                return
            if message["type"] == "error":
                raise Unexpected("socket error", str(message))


async def workers(client: KopekClient, count: int, stop: asyncio.Event, done: list[int],
                  errors: list[str]) -> None:
    async def worker() -> None:
        while not stop.is_set():
            try:
                await pay_on_the_socket(client)
                done[0] += 1
            except (Unexpected, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.01)

    await asyncio.gather(*(worker() for _ in range(count)))


async def measure(args: argparse.Namespace, kopek: Any, kopek_url: str, secret_key: str,
                  profile_path: Path) -> dict[str, Any]:
    receiver = Receiver()
    hook_app = web.Application()
    hook_app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(hook_app, access_log=None)
    await runner.setup()
    hook_port = free_port()
    await web.TCPSite(runner, HOST, hook_port).start()
    connector = aiohttp.TCPConnector(limit=args.concurrency * 3)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
            async def up() -> bool:
                async with session.get(f"{kopek_url}/v1/openapi.json") as r:
                    return r.status == 200
            await wait_until_up(kopek, up)
            client = KopekClient(session, kopek_url, secret_key)
            async with session.post(f"{kopek_url}/v1/webhook_endpoints", headers=client.auth,
                                    json={"url": f"http://{HOST}:{hook_port}/hook",
                                          "events": ["payment.succeeded"]}) as r:
                await expect(r, 201, "webhook endpoint")
            return await profile_under_load(args, client, kopek.proc.pid, receiver, profile_path)
    finally:
        await runner.cleanup()


async def profile_under_load(args: argparse.Namespace, client: KopekClient, pid: int, receiver: Receiver,
                             profile_path: Path) -> dict[str, Any]:
    stop, done, errors = asyncio.Event(), [0], []
    load = asyncio.create_task(workers(client, args.concurrency, stop, done, errors))
    await asyncio.sleep(args.warmup)
    spy = await asyncio.create_subprocess_exec(
        py_spy(), "record", "--pid", str(pid), "--duration", str(int(args.seconds)), "--rate", "250",
        "--format", "raw", "--output", str(profile_path), "--nonblocking",
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    paid_before, cpu_before, hooks_before = done[0], cpu_seconds(pid), receiver.deliveries
    _, spy_errors = await spy.communicate()
    paid, cpu = done[0] - paid_before, (cpu_seconds(pid) or 0.0) - (cpu_before or 0.0)
    hooks = receiver.deliveries - hooks_before
    stop.set()
    await load
    if spy.returncode != 0 or not profile_path.exists():
        raise SystemExit(f"py-spy failed ({spy.returncode}): {spy_errors.decode(errors='replace')[-500:]}")
    samples = stage_samples(profile_path.read_text().splitlines())
    return report(samples, paid=paid, cpu_s=cpu, webhooks=hooks, errors=errors, args=args)


def report(samples: dict[str, int], *, paid: int, cpu_s: float, webhooks: int, errors: list[str],
           args: argparse.Namespace) -> dict[str, Any]:
    total = sum(samples.values()) or 1
    per_payment_ms = cpu_s * 1000 / paid if paid else None
    stages = {stage: {"share": round(count / total, 4),
                      "ms_per_payment": round(per_payment_ms * count / total, 3) if per_payment_ms else None}
              for stage, count in sorted(samples.items(), key=lambda item: -item[1])}
    kopek_share = 1 - samples.get(SIMULATORS, 0) / total
    kopek_ms = round(per_payment_ms * kopek_share, 3) if per_payment_ms else None
    return {"machine": machine_info(),
            "settings": {"seconds": args.seconds, "warmup": args.warmup, "concurrency": args.concurrency},
            "payments": paid, "payments_per_second": round(paid / args.seconds, 1), "webhooks": webhooks,
            "server_cpu_ms_per_payment": round(per_payment_ms, 3) if per_payment_ms else None,
            "kopek_cpu_ms_per_payment": kopek_ms, "target_ms": TARGET_MS,
            "kopek/target": round(kopek_ms / TARGET_MS, 2) if kopek_ms else None,
            "samples": total, "stages": stages, "errors": len(errors), "error_samples": errors[:5]}


def print_report(data: dict[str, Any]) -> None:
    s = data["settings"]
    print_machine(data["machine"])
    print(f"run: {s['concurrency']} concurrent checkouts, {s['seconds']:g}s profiled (+{s['warmup']:g}s warm-up)")
    print(f"payments: {data['payments']} ({data['payments_per_second']}/s), payment.succeeded webhooks:"
          f" {data['webhooks']}, errors: {data['errors']}, py-spy samples: {data['samples']}")
    print()
    print(f"{'stage':<32}{'share':>8}{'ms/payment':>12}")
    for stage, row in data["stages"].items():
        ms = "-" if row["ms_per_payment"] is None else f"{row['ms_per_payment']:.3f}"
        print(f"{stage:<32}{row['share'] * 100:>7.1f}%{ms:>12}")
    print()
    print(f"server CPU per payment: {data['server_cpu_ms_per_payment']} ms; Kopek without the simulators:"
          f" {data['kopek_cpu_ms_per_payment']} ms; target {data['target_ms']} ms; ratio {data['kopek/target']}")
    for sample in data["error_samples"]:
        print(f"  error, e.g. {sample}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_arguments(parser)
    parser.set_defaults(warmup=3.0, seconds=15.0)
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument("--keep-profile", type=Path, help="copy py-spy's raw profile here")
    args = parser.parse_args(argv)
    check_run_arguments(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    py_spy()
    with workspace(None) as (workdir, children):
        db_path = workdir / "kopek.db"
        secret_key = create_merchant(db_path)
        port = free_port()
        children.append(start_kopek(db_path, port, workdir, "--sandbox-time-scale", "0.001"))
        profile = workdir / f"profile-{uuid.uuid4().hex}.raw"
        data = asyncio.run(measure(args, children[0], f"http://{HOST}:{port}", secret_key, profile))
        if args.keep_profile:
            shutil.copy(profile, args.keep_profile)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print_report(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
