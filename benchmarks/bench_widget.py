"""Kopek widget benchmark: a cold load of the checkout in Chromium, against a bare page in the same run.

Run:  python benchmarks/bench_widget.py [--loads N] [--json]

Kopek runs as a child process on 127.0.0.1; a shop page is served from localhost (another origin) by
an aiohttp app in this process, which creates each payment with the secret key and embeds the widget
with one script tag. Debian's Chromium (headless, through Playwright) then opens, each in a fresh
browser context (no cache, no connections), alternately:

* ``bare``:   a page from the same shop server that loads one small script, which marks it ready:
  the least that "a page and a script" costs on this machine and browser;
* ``widget``: the shop's checkout page, interactive when the page hears ``kopek:ready`` (the wallet
  form is shown and the frame has its state).

For each it reports, as medians over N loads: the requests after the shop's document (by kind:
assets, API calls, websockets), their bytes on the wire (response headers and encoded bodies, as
Chromium counted them; the websocket's frames are not included), the time from navigation start to ready, and the ratio widget/bare of that time.
It then pays one payment through the form (WebMoney, the sandbox code from the phone) and reports
the shop page's cumulative layout shift (CLS, shifts not caused by input) from load to success.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from _common import (
    HOST, create_merchant, free_port, machine_info, print_machine, start_kopek, wait_until_up, workspace,
)

SUCCEEDS_ACCOUNT = "R100000000001"
SHIFTS_SCRIPT = """
window.__shifts = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shifts += entry.value;
}).observe({type: 'layout-shift', buffered: true});
"""
BARE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Shop</h1><p>Order: 500 kopecks</p><div id="pay"></div>
<script src="/bare.js" async></script>
<p>Below the checkout.</p></body></html>"""
WIDGET_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Shop</h1><p>Order: 500 kopecks</p><div id="pay" style="min-height: 760px"></div>
<script src="{kopek}/v1/kopek.js" data-client-secret="{secret}" data-target="#pay" async></script>
<script>document.getElementById('pay').addEventListener('kopek:ready', () => {{
  window.__ready = performance.now(); }});
document.getElementById('pay').addEventListener('kopek:succeeded', () => {{ window.__succeeded = true; }});
</script>
<p>Below the checkout.</p></body></html>"""


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise SystemExit("no Chromium on this machine: apt-get install chromium")
    return path


def shop_app(kopek_url: str, secret_key: str) -> web.Application:
    async def bare(request: web.Request) -> web.Response:
        return web.Response(text=BARE_PAGE, content_type="text/html")

    async def bare_script(request: web.Request) -> web.Response:
        return web.Response(text="window.__ready = performance.now();", content_type="text/javascript")

    async def checkout(request: web.Request) -> web.Response:
        body = {"amount": 500, "currency": "RUB", "order_id": f"widget-bench-{time.monotonic_ns()}"}
        async with request.app["http"].post(f"{kopek_url}/v1/payments", json=body,
                                            headers={"Authorization": f"Bearer {secret_key}"}) as answer:
            payment = await answer.json()
        page = WIDGET_PAGE.format(kopek=kopek_url, secret=payment["client_secret"])
        return web.Response(text=page, content_type="text/html", headers={"X-Payment-Id": payment["id"]})

    async def session(app: web.Application):
        app["http"] = aiohttp.ClientSession()
        yield
        await app["http"].close()

    app = web.Application()
    app.router.add_get("/bare", bare)
    app.router.add_get("/bare.js", bare_script)
    app.router.add_get("/checkout", checkout)
    app.cleanup_ctx.append(session)
    return app


async def cold_load(browser: Any, url: str) -> dict[str, Any]:
    """One load in a fresh context: the requests after the document, their bytes, and the time to ready."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.add_init_script(SHIFTS_SCRIPT)
    requests: list[Any] = []
    sockets: list[str] = []
    page.on("request", lambda request: requests.append(request))
    page.on("websocket", lambda socket: sockets.append(socket.url))
    await page.goto(url)
    await page.wait_for_function("window.__ready !== undefined", timeout=30_000)
    ready_ms = await page.evaluate("window.__ready")
    after_document = [r for r in requests if r.url != url]
    wire = 0
    for request in after_document:
        if await request.response() is not None:
            sizes = await request.sizes()
            wire += sizes["responseHeadersSize"] + sizes["responseBodySize"]
    kinds = {"assets": sum(r.resource_type in ("script", "stylesheet", "document", "font", "image")
                           for r in after_document),
             "api": sum(r.resource_type in ("fetch", "xhr") for r in after_document)}
    await context.close()
    return {"requests": len(after_document), **kinds, "websockets": len(sockets), "wire_bytes": wire,
            "ready_ms": ready_ms}


async def pay_and_measure_shifts(browser: Any, shop_url: str, kopek_url: str) -> float:
    context = await browser.new_context()
    page = await context.new_page()
    await page.add_init_script(SHIFTS_SCRIPT)
    answer = await page.goto(f"{shop_url}/checkout")
    payment_id = await answer.header_value("X-Payment-Id")
    frame = page.frame_locator("#pay iframe")
    await frame.get_by_role("radio", name="WebMoney").check()
    await frame.get_by_label("WMID, purse or phone").fill(SUCCEEDS_ACCOUNT)
    await frame.get_by_role("button", name="Pay", exact=False).click()
    await frame.get_by_role("heading", name="Enter the code").wait_for()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{kopek_url}/sandbox/phone.json", params={"payment": payment_id}) as phone:
            code = (await phone.json())["data"][0]["code"]
    await frame.get_by_label("Confirmation code").fill(code)
    await frame.get_by_role("button", name="Confirm").click()
    await page.wait_for_function("window.__succeeded === true", timeout=30_000)
    await page.wait_for_timeout(1000)   # a late resize would count too
    shifts = await page.evaluate("window.__shifts")
    await context.close()
    return shifts


def medians(loads: list[dict[str, Any]]) -> dict[str, float]:
    return {key: statistics.median(load[key] for load in loads) for key in loads[0]}


async def measure(args: argparse.Namespace, kopek_url: str, secret_key: str, shop_port: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    runner = web.AppRunner(shop_app(kopek_url, secret_key), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "localhost", shop_port).start()
    shop_url = f"http://localhost:{shop_port}"
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium(), headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            await cold_load(browser, f"{shop_url}/checkout")   # warm-up: Kopek's caches, not the browser's
            loads: dict[str, list[dict[str, Any]]] = {"bare": [], "widget": []}
            for _ in range(args.loads):
                loads["bare"].append(await cold_load(browser, f"{shop_url}/bare"))
                loads["widget"].append(await cold_load(browser, f"{shop_url}/checkout"))
            shifts = await pay_and_measure_shifts(browser, shop_url, kopek_url)
            await browser.close()
    finally:
        await runner.cleanup()
    results = {name: medians(rows) for name, rows in loads.items()}
    ratio = results["widget"]["ready_ms"] / results["bare"]["ready_ms"]
    return {"machine": machine_info(), "loads": args.loads, "results": results,
            "ready_widget/bare": round(ratio, 3), "cls_during_payment": round(shifts, 4)}


def print_report(data: dict[str, Any]) -> None:
    print_machine(data["machine"])
    print(f"cold loads: {data['loads']} each, alternating, medians")
    print(f"{'page':<8} {'requests':>8} {'assets':>6} {'api':>4} {'ws':>3} {'wire bytes':>10} {'ready ms':>9}")
    for name, row in data["results"].items():
        print(f"{name:<8} {row['requests']:>8.0f} {row['assets']:>6.0f} {row['api']:>4.0f} {row['websockets']:>3.0f} "
              f"{row['wire_bytes']:>10.0f} {row['ready_ms']:>9.1f}")
    print(f"ready widget/bare: {data['ready_widget/bare']}")
    print(f"CLS on the shop page during a payment: {data['cls_during_payment']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20, help="cold loads of each page (default 20)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args(argv)
    if args.loads < 1:
        parser.error("--loads must be at least 1")
    shop_port = free_port()
    with workspace(None) as (workdir, children):
        db_path = workdir / "kopek.db"
        secret_key = create_merchant(db_path, f"http://localhost:{shop_port}")
        kopek_port = free_port()
        children.append(start_kopek(db_path, kopek_port, workdir, "--sandbox-time-scale", "0.01"))
        kopek_url = f"http://{HOST}:{kopek_port}"
        data = asyncio.run(wait_then_measure(args, children[0], kopek_url, secret_key, shop_port))
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print_report(data)
    return 0


async def wait_then_measure(args: argparse.Namespace, kopek: Any, kopek_url: str, secret_key: str,
                            shop_port: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        async def up() -> bool:
            async with http.get(f"{kopek_url}/v1/kopek.js") as answer:
                return answer.status == 200
        await wait_until_up(kopek, up)
    return await measure(args, kopek_url, secret_key, shop_port)


if __name__ == "__main__":
    sys.exit(main())
