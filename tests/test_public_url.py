"""The public URL and transport security, from outside: a live `kopek serve` refuses a plain-http
public URL unless the operator insists (then it warns), cookies are always Secure, and an https
public URL brings HSTS."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest

from support import LIVE_ENV
from kopek.providers.registry import PLUGINS
from processes import KopekProcess, free_port, kopek_env
from support import make_settings

HSTS = "max-age=31536000; includeSubDomains"


def live_env(**extra: str) -> dict[str, str]:
    urls = {f"KOPEK_PROVIDER_URL_{w.upper()}": f"https://{w}.provider.example" for w in PLUGINS}
    return kopek_env({**LIVE_ENV, **urls, "KOPEK_MODE": "live", **extra})


def serve_briefly(tmp_path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([sys.executable, "-m", "kopek", "--db", str(tmp_path / "kopek.db"), "serve",
                               "--port", str(free_port())], capture_output=True, text=True, timeout=20, env=env)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"kopek serve started on an insecure public URL:\n{exc.stdout}{exc.stderr}") from exc


@pytest.mark.parametrize("url", ["http://kopek.example.com", "http://203.0.113.7:8080"])
def test_live_serve_refuses_a_plain_http_public_url(tmp_path, url):
    done = serve_briefly(tmp_path, live_env(KOPEK_PUBLIC_BASE_URL=url))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"the public URL {url} is not https" in done.stderr and "--allow-insecure-public-url" in done.stderr


def test_live_serve_starts_on_plain_http_only_when_allowed_and_warns(tmp_path):
    port = free_port()
    server = KopekProcess(tmp_path / "kopek.db", port, env=live_env(
        KOPEK_PUBLIC_BASE_URL=f"http://kopek.example.com:{port}", KOPEK_ALLOW_INSECURE_PUBLIC_URL="1"))
    try:
        with urllib.request.urlopen(f"{server.base_url}/dashboard/login", timeout=5) as response:
            cookies = response.headers.get_all("Set-Cookie")
            assert response.headers.get("Strict-Transport-Security") is None   # ignored over http anyway
        assert cookies and all("Secure" in cookie for cookie in cookies)
        assert "is not https" in server.output() and "starting anyway" in server.output()
    finally:
        server.stop()


def test_live_serve_starts_on_loopback_http(tmp_path):
    server = KopekProcess(tmp_path / "kopek.db", free_port(), env=live_env())
    server.stop()


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port):
    return make_settings(tmp_path, unused_tcp_port, public_url="https://kopek.example")


async def test_an_https_public_url_sends_hsts_on_pages_and_redirects(kopek):
    page = await kopek.client.get("/dashboard/login")
    assert page.headers["Strict-Transport-Security"] == HSTS
    assert all("Secure" in cookie for cookie in page.headers.getall("Set-Cookie"))
    redirect = await kopek.client.get("/dashboard/team", allow_redirects=False)
    assert redirect.status == 303 and redirect.headers["Strict-Transport-Security"] == HSTS
    api = await kopek.client.get("/v1/payments", headers=kopek.auth())
    assert api.headers["Strict-Transport-Security"] == HSTS
