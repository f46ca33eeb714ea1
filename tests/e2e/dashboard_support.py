"""Helpers for the dashboard's browser tests: Kopek as a real process on its own database, a fresh
Chromium context per person, the real sign-up and login forms, and the checks every visited page
gets: axe-core (no serious or critical violation), screenshots at 1280 and 360 px (no sideways
scrolling on a phone) and no Content-Security-Policy violation.

axe-core comes from the npm registry (package.json at the repository root; `./dev test` runs
`npm ci` when node_modules/axe-core is missing). Nothing is downloaded while the tests run.
The fixtures are made available to every browser test by tests/e2e/conftest.py.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import uuid
import weakref
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from playwright.sync_api import Page, Response, expect

from processes import LIFTED_GUESS_LIMITS, KopekProcess, free_port, kopek_env

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "artifacts"
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
BLOCKING_IMPACTS = ("serious", "critical")
MAX_TABS = 30

_console_errors: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


class ForeignSite:
    """A tiny web server in the test process that serves the pages tests publish on it.

    The same port is reached under two names: `cross_site` (http://localhost:P, another site than
    Kopek's http://127.0.0.1, so SameSite=Lax cookies stay home) and `same_site` (http://127.0.0.1:P,
    another origin but the same site, so the browser does send Kopek's cookie and only the CSRF token
    stands in the way)."""

    def __init__(self) -> None:
        pages: dict[str, bytes] = {}
        self._pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self._server.server_address[1]
        self.cross_site = f"http://localhost:{port}"
        self.same_site = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def publish(self, html: str) -> str:
        """Serves `html` at a new path and returns the path."""
        path = f"/{uuid.uuid4().hex}.html"
        self._pages[path] = html.encode()
        return path

    def auto_post_page(self, action: str, fields: dict[str, str]) -> str:
        """Publishes a page that posts a form to `action` as soon as it loads, as an attacker's page would."""
        inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items())
        return self.publish(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Win a prize</title></head>
<body><h1>Win a prize</h1><form id="attack" method="post" action="{escape(action)}">{inputs}</form>
<script>document.getElementById("attack").submit();</script></body></html>""")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# Fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def dashboard_server(e2e_dir: Path) -> Iterator[KopekProcess]:
    """`kopek serve` (sandbox mode) on its own database, for the dashboard's browser tests."""
    # Every browser test signs up from 127.0.0.1: lift the per-address sign-up limit (5 an hour).
    server = KopekProcess(e2e_dir / "dashboard.db", free_port(), time_scale="0.01",
                          env=kopek_env({"KOPEK_SIGNUPS_PER_IP_PER_HOUR": "1000", **LIFTED_GUESS_LIMITS}))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def foreign_site() -> Iterator[ForeignSite]:
    """Another web site, for cross-origin and cross-site attacks on the dashboard."""
    site = ForeignSite()
    yield site
    site.stop()


@pytest.fixture
def new_dashboard_page(browser: Any) -> Iterator[Callable[..., Page]]:
    """Opens a page in a new browser context: one context per person (own cookies), closed after the test."""
    contexts = []

    def open_page(locale: str = "en-US") -> Page:
        context = browser.new_context(locale=locale, viewport=DESKTOP)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        _console_errors[page] = errors
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def dashboard_page(new_dashboard_page: Callable[..., Page]) -> Page:
    """A page in a fresh browser context (English, 1280 x 900)."""
    return new_dashboard_page()


# Page checks ------------------------------------------------------------------------------------

@functools.cache
def _axe_source() -> str | None:
    return AXE_JS.read_text(encoding="utf-8") if AXE_JS.is_file() else None


def _axe_or_skip() -> str:
    source = _axe_source()
    if source is not None:
        return source
    reason = (f"axe-core is not installed ({AXE_JS.relative_to(ROOT)} is missing): run `npm ci` at the "
              "repository root (./dev test does it when npm is on the machine)")
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


def check_axe(page: Page, name: str) -> dict[str, Any]:
    """Runs axe-core on the page as it is now, saves the whole result to artifacts/axe/<name>.json
    and fails on any serious or critical violation. Returns axe's result.

    The source goes in through page.evaluate (DevTools evaluation, which the page's strict CSP does
    not govern), so the page under test keeps its real CSP."""
    page.evaluate(_axe_or_skip())
    result = page.evaluate("""tags => axe.run(document, {
        runOnly: {type: 'tag', values: tags}, resultTypes: ['violations', 'incomplete']})""", AXE_TAGS)
    out = ARTIFACTS / "axe" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"page": page.url, **result}, indent=2, ensure_ascii=False), encoding="utf-8")
    blocking = [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe found serious or critical problems on {page.url} ({name}):\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}; at {', '.join(_selectors(v))}" for v in blocking)
    return result


def _selectors(violation: dict[str, Any]) -> list[str]:
    return [" ".join(map(str, node["target"])) for node in violation["nodes"]]


def axe_summary(result: dict[str, Any]) -> dict[str, int]:
    """Violations counted by impact, e.g. {"moderate": 1}."""
    counts: dict[str, int] = {}
    for violation in result["violations"]:
        counts[violation["impact"]] = counts.get(violation["impact"], 0) + 1
    return counts


# For the failure message: the innermost elements that stick out past the phone's width, leaving
# out what sits inside a box that scrolls or clips on its own (such as .table-scroll).
_TOO_WIDE = """limit => {
    const visible = el => getComputedStyle(el).overflowX === 'visible';
    const boxed = el => { for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
        if (!visible(up)) return true; } return false; };
    const right = el => {
        const box = el.getBoundingClientRect(); return Math.max(box.right, box.left + el.scrollWidth); };
    const wide = [...document.querySelectorAll('body *')].filter(el => right(el) > limit && visible(el) && !boxed(el));
    const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + [...el.classList].map(c => '.' + c).join('');
    return wide.filter(el => !wide.some(other => other !== el && el.contains(other)))
        .slice(0, 10).map(el => name(el) + ' (to ' + Math.round(right(el)) + ' px)');
}"""


def screenshots(page: Page, name: str) -> None:
    """Saves artifacts/screenshots/<name>-desktop.png (1280 px wide) and <name>-phone.png (360 px
    wide, whole page), and fails if the page scrolls sideways at 360 px: only a `.table-scroll`
    box may scroll on its own. The viewport is put back as it was."""
    out = ARTIFACTS / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    try:
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(out / f"{name}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(out / f"{name}-phone.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, (
            f"{page.url} ({name}) scrolls sideways at {PHONE['width']} px: the page is {width} px wide; "
            f"too wide: {page.evaluate(_TOO_WIDE, PHONE['width'] + 1)}")
    finally:
        if before:
            page.set_viewport_size(before)


def assert_no_csp_violations(page: Page) -> None:
    """The page's own code broke none of its CSP rules (inline styles or scripts, foreign sources)."""
    refused = [text for text in _console_errors.get(page, []) if "Content Security Policy" in text]
    assert not refused, f"CSP violations on {page.url}:\n" + "\n".join(refused)


def check_page(page: Page, name: str) -> dict[str, Any]:
    """Everything every visited page is held to: axe, screenshots at both widths, no CSP violation."""
    result = check_axe(page, name)
    screenshots(page, name)
    assert_no_csp_violations(page)
    return result


# People and forms -------------------------------------------------------------------------------

def unique_email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}@example.com"


def sign_up(page: Page, base_url: str, email: str, shop: str, password: str = PASSWORD) -> dict[str, str]:
    """Signs up through the real form, logs in for the first time, and returns the keys that
    first login's welcome page shows once (by element id: pk-test, sk-test, pk-live, sk-live)."""
    page.goto(f"{base_url}/dashboard/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Shop name").fill(shop)
    _submit(page, "Sign up")
    _log_in_here(page, email, password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to Kopek")
    return {key: page.locator(f"#{key}").inner_text().strip() for key in ("pk-test", "sk-test", "pk-live", "sk-live")}


def sign_up_with_code(page: Page, base_url: str, email: str, code: str, password: str = PASSWORD) -> Response | None:
    """Joins the shop that sent the invitation code, then logs in; returns the response the
    browser lands on."""
    page.goto(f"{base_url}/dashboard/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_label("…or an invitation code").fill(code)
    _submit(page, "Sign up")
    return _log_in_here(page, email, password)


def _log_in_here(page: Page, email: str, password: str) -> Response | None:
    """A sign-up lands on the login page, whose notice does not say whether the email was new."""
    expect(page.locator("#signed-up")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    return _submit(page, "Log in")


def log_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> Response | None:
    """Logs in through the real form; returns the response the browser lands on (after redirects)."""
    page.goto(f"{base_url}/dashboard/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    return _submit(page, "Log in")


def log_in_with_keyboard(page: Page, base_url: str, email: str, password: str = PASSWORD) -> Response | None:
    """The same login with the keyboard only: Tab to the email field, type, Tab, type, Enter."""
    page.goto(f"{base_url}/dashboard/login")
    tab_to(page, page.get_by_label("Email"))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(password)
    with page.expect_navigation() as landed:
        page.keyboard.press("Enter")
    return landed.value


def log_out(page: Page) -> Response | None:
    """The header's "Log out" button (a POST form with the CSRF token)."""
    return _submit(page, "Log out")


def tab_to(page: Page, target: Any, max_tabs: int = MAX_TABS) -> int:
    """Presses Tab until `target` (a locator) has the focus; returns how many presses it took."""
    for presses in range(1, max_tabs + 1):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"{max_tabs} presses of Tab never reached {target} on {page.url}")


def post_form(page: Page, action: str, fields: dict[str, str]) -> Response | None:
    """Builds and submits a form in the page, as a hand-made (forged or tampered) form would;
    returns the response the browser lands on."""
    with page.expect_navigation() as landed:
        page.evaluate("""([action, fields]) => {
            const form = document.createElement('form');
            form.method = 'post';
            form.action = action;
            for (const [name, value] of Object.entries(fields)) {
                const input = document.createElement('input');
                input.type = 'hidden'; input.name = name; input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
        }""", [action, fields])
    return landed.value


def csrf_token(page: Page) -> str:
    """The session's CSRF token, as the page's own forms carry it."""
    return page.locator('input[name="csrf_token"]').first.input_value()


def _submit(page: Page, button: str) -> Response | None:
    with page.expect_navigation() as landed:
        page.get_by_role("button", name=button, exact=True).click()
    return landed.value


# Shared people, the shop's API, its webhook receiver and the day's settlement --------------------
# (for the flows, live and page-tour tests: test_dashboard_flows/_live/_pages.py)

import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from processes import http_json  # noqa: E402

PHONE_WAIT_S = 10
STATUS_WAIT_S = 15


def open_person(browser: Any, locale: str = "en-US", java_script_enabled: bool = True) -> Page:
    """A page in a browser context of its own, like new_dashboard_page but for a person shared by a
    whole module (close it with `page.context.close()`). CSP errors are collected for check_page."""
    context = browser.new_context(locale=locale, viewport=DESKTOP, java_script_enabled=java_script_enabled)
    return watch_console(context.new_page())


def watch_console(page: Page) -> Page:
    """Collects the page's console errors for check_page (for a second tab in the same context)."""
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    _console_errors[page] = errors
    return page


def api(base_url: str, secret_key: str, method: str, path: str,
        body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """The shop's server calling Kopek's API with its secret key, over HTTP."""
    return http_json(method, base_url + path, body, {"Authorization": f"Bearer {secret_key}"})


def create_payment(base_url: str, secret_key: str, amount: int, order_id: str, **extra: Any) -> dict[str, Any]:
    status, payment = api(base_url, secret_key, "POST", "/v1/payments",
                          {"amount": amount, "currency": "RUB", "order_id": order_id, **extra})
    assert status == 201, (status, payment)
    return payment


def pay_with_phone_code(base_url: str, payment: dict[str, Any], account: str, wallet: str = "webmoney") -> None:
    """The shopper's side through the checkout API, as the widget does it: choose the wallet, read
    the code the sandbox phone got, type it. The magic account decides the outcome."""
    checkout = f"{base_url}/v1/checkout/{payment['id']}"
    shopper = {"Kopek-Client-Secret": payment["client_secret"]}
    status, answer = http_json("POST", f"{checkout}/attempts", {"wallet": wallet, "details": {"account": account}},
                               {**shopper, "Idempotency-Key": uuid.uuid4().hex})
    assert status == 200, (status, answer)
    code = _phone_code(base_url, payment["id"])
    status, answer = http_json("POST", f"{checkout}/confirm", {"code": code}, shopper)
    assert status in (200, 202), (status, answer)


def _phone_code(base_url: str, payment_id: str) -> str:
    deadline = time.monotonic() + PHONE_WAIT_S
    while time.monotonic() < deadline:
        _, messages = http_json("GET", f"{base_url}/sandbox/phone.json?payment={payment_id}")
        if messages["data"]:
            return messages["data"][0]["code"]
        time.sleep(0.05)
    raise AssertionError(f"the sandbox phone got no code for {payment_id}")


def wait_for_payment(base_url: str, secret_key: str, payment_id: str, done: Callable[[dict[str, Any]], bool],
                     what: str) -> dict[str, Any]:
    """Polls the API until `done(payment)`; fails with the last state after STATUS_WAIT_S."""
    deadline = time.monotonic() + STATUS_WAIT_S
    while True:
        status, payment = api(base_url, secret_key, "GET", f"/v1/payments/{payment_id}")
        assert status == 200, (status, payment)
        if done(payment):
            return payment
        if time.monotonic() > deadline:
            raise AssertionError(f"{payment_id} never became {what}: {payment}")
        time.sleep(0.05)


class WebhookCatcher:
    """The shop's webhook receiver: a small http.server on 127.0.0.1 in a thread, answering 200 to
    every POST and keeping what came (path, headers with lower-case names, raw and parsed body)."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "raw": body, "body": json.loads(body or b"null")})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/kopek/webhooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, event_type: str, timeout_s: float = STATUS_WAIT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [r for r in self.received if (r["body"] or {}).get("type") == event_type]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no {event_type} webhook reached {self.url}; got {[r['body'] for r in self.received]}")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def dashboard_db(e2e_dir: Path) -> Path:
    """The database of the dashboard_server fixture."""
    return e2e_dir / "dashboard.db"


# What `kopek settle --date TODAY` would do once today is over: the ledger's own service, run on
# the server's database from another process (as the CLI runs beside `kopek serve`).
_SETTLE_TODAY = """
import asyncio, json, sys
from datetime import timedelta
from pathlib import Path
from kopek import clock
from kopek.ledger.service import Ledger
from kopek.providers import registry
from kopek.store.sqlite import SqliteStore

async def main(db):
    store = SqliteStore(Path(db))
    await store.open()
    try:
        today = clock.now().date()
        run = await Ledger(store, registry.WALLETS).settlements.settle_day(
            today, livemode=False, today=today + timedelta(days=1))
        print(json.dumps({"created": [[s.id, s.merchant_id] for s in run.created]}))
    finally:
        await store.close()

asyncio.run(main(sys.argv[1]))
"""


def settle_today(e2e_dir: Path, merchant_id: str) -> str:
    """Settles today's test payments of every merchant not settled yet today; returns the id of
    `merchant_id`'s new settlement."""
    done = subprocess.run([sys.executable, "-c", _SETTLE_TODAY, str(dashboard_db(e2e_dir))], capture_output=True,
                          text=True, timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(ROOT / "backend")})
    assert done.returncode == 0, done.stderr
    created = {merchant: settlement for settlement, merchant in json.loads(done.stdout)["created"]}
    assert merchant_id in created, f"no settlement was made for {merchant_id}: {done.stdout}"
    return created[merchant_id]


def merchant_id_on_welcome(page: Page) -> str:
    """The merchant id the welcome page shows beside the shop's name (right after sign_up)."""
    return page.locator("#keys-heading code").inner_text().strip()


def one_h1_and_skip_link(page: Page) -> None:
    """The page has exactly one h1, and the first Tab reaches "Skip to content", whose Enter moves
    the focus to the main content. Call it right after the page loaded, before any click."""
    expect(page.locator("h1")).to_have_count(1)
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()


def _png_width(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")


def check_page_without_javascript(page: Page, twin: Page, name: str) -> dict[str, Any]:
    """check_page for a page whose context has JavaScript off, where page.evaluate cannot run (so
    neither can axe): the screenshots are of the page itself, at 1280 and 360 px, and its width at
    360 px is read from the whole-page screenshot (the browser sizes it to the content, without
    any script); axe runs on `twin`, a page with JavaScript on, of the same person, at the same
    address. No CSP error on either."""
    out = ARTIFACTS / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    try:
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(out / f"{name}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        phone = out / f"{name}-phone.png"
        page.screenshot(path=str(phone), full_page=True)
        assert _png_width(phone) <= PHONE["width"] + 1, (
            f"{page.url} ({name}) scrolls sideways at {PHONE['width']} px without JavaScript: "
            f"the page is {_png_width(phone)} px wide")
    finally:
        if before:
            page.set_viewport_size(before)
    twin.goto(page.url)
    result = check_axe(twin, name)
    assert_no_csp_violations(page)
    assert_no_csp_violations(twin)
    return result
