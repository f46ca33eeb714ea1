"""Browser tests: real Chromium (Debian's), Kopek as a real process, the shop on another origin.

Kopek listens on 127.0.0.1:P1 and the shop page is served from localhost:P2, so the widget
crosses origins exactly as on a real shop. Nothing is mocked.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from processes import LIFTED_GUESS_LIMITS, KopekProcess, ShopProcess, create_merchant, free_port, kopek_env

CHROMIUM_NAMES = ("chromium", "chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def chromium_path() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def pytest_collection_modifyitems(config, items):
    if chromium_path():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI is set but no Chromium was found: install Debian's chromium (.ci/run does)")
    skip = pytest.mark.skip(reason="no Chromium on this machine (apt-get install chromium); browser tests skipped")
    for item in items:
        if "e2e" in item.nodeid.split("::")[0]:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def kopek_server(e2e_dir) -> Iterator[KopekProcess]:
    server = KopekProcess(e2e_dir / "kopek.db", free_port(), time_scale="0.01", env=kopek_env(LIFTED_GUESS_LIMITS))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shop(kopek_server, e2e_dir) -> Iterator[ShopProcess]:
    port = free_port()
    merchant = create_merchant(e2e_dir / "kopek.db", "E2E shop", f"http://localhost:{port}")
    shop = ShopProcess(port, kopek_server.base_url, merchant["secret_key"], e2e_dir / "shop.log")
    yield shop
    shop.stop()


@pytest.fixture(scope="session")
def other_shop(kopek_server, e2e_dir) -> Iterator[ShopProcess]:
    """A shop whose origin is NOT on its merchant's allow-list."""
    merchant = create_merchant(e2e_dir / "kopek.db", "Misconfigured shop", "https://elsewhere.example")
    shop = ShopProcess(free_port(), kopek_server.base_url, merchant["secret_key"], e2e_dir / "other-shop.log")
    yield shop
    shop.stop()


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="en-US", viewport={"width": 900, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


RESEND_COOLDOWN_S = 3


@pytest.fixture(scope="session")
def fast_resend_kopek(e2e_dir) -> Iterator[KopekProcess]:
    """A second Kopek, on its own database, whose WebMoney code may be resent after a few
    seconds (KOPEK_CODE_RESEND_COOLDOWN_S) instead of the default 30."""
    server = KopekProcess(e2e_dir / "kopek-fast-resend.db", free_port(), time_scale="0.01",
                          env=kopek_env({"KOPEK_CODE_RESEND_COOLDOWN_S": str(RESEND_COOLDOWN_S),
                                         **LIFTED_GUESS_LIMITS}))
    server.resend_cooldown_s = RESEND_COOLDOWN_S
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fast_resend_shop(fast_resend_kopek, e2e_dir) -> Iterator[ShopProcess]:
    port = free_port()
    merchant = create_merchant(e2e_dir / "kopek-fast-resend.db", "Fast resend shop", f"http://localhost:{port}")
    shop = ShopProcess(port, fast_resend_kopek.base_url, merchant["secret_key"], e2e_dir / "fast-resend-shop.log")
    yield shop
    shop.stop()


# The dashboard's browser tests: their fixtures live beside their helpers.
from dashboard_support import dashboard_page, dashboard_server, foreign_site, new_dashboard_page  # noqa: E402,F401
