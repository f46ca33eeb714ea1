"""Running Kopek as a real process, as a person would from the command line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

BACKEND = Path(__file__).resolve().parents[1] / "backend"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Harnesses that send many payments from one address on the magic accounts lift the limits on codes
# and PINs across payments; tests/web/test_guessing_across_payments.py tests the limits themselves.
LIFTED_GUESS_LIMITS = {f"KOPEK_{name}": "1000000" for name in (
    "WRONG_CODES_PER_ACCOUNT", "WRONG_CODES_PER_IP", "CODES_SENT_PER_ACCOUNT", "CODES_SENT_PER_IP")}


def kopek_env(extra: dict[str, str] | None = None, pythonpath: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPEK_")}
    env["PYTHONPATH"] = pythonpath or str(BACKEND)
    env.update(extra or {})
    return env


def run_cli(*args: str, db: Path, env: dict[str, str] | None = None, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kopek", "--db", str(db), *args], capture_output=True,
                          text=True, timeout=60, env=env or kopek_env(), cwd=cwd)


def create_merchant(db: Path, name: str, *origins: str) -> dict[str, Any]:
    flags = [arg for origin in origins for arg in ("--origin", origin)]
    done = run_cli("merchant", "create", "--name", name, *flags, "--json", db=db)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class KopekProcess:
    """`kopek serve` (or another kopek command) in a child process; stopped with SIGINT like Ctrl+C."""

    def __init__(self, db: Path, port: int, *, time_scale: str = "0.01", env: dict[str, str] | None = None,
                 cwd: Path | None = None, command: str = "serve", ready_path: str = "/v1/openapi.json") -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = db.with_suffix(f".{command}.{port}.{time.monotonic_ns()}.log")
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kopek", "--db", str(db), command, "--port", str(port),
             "--sandbox-time-scale", time_scale],
            stdout=self._log, stderr=subprocess.STDOUT, env=env or kopek_env(), cwd=cwd)
        self._wait_until_up(ready_path)

    def _wait_until_up(self, ready_path: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kopek exited early:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}{ready_path}", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"kopek serve did not start:\n{self.output()}")

    def kill(self) -> None:
        """kill -9: no shutdown, no cleanup, as in a crash."""
        self.process.kill()
        self.process.wait()
        self._log.close()

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def http_json(method: str, url: str, body: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class ShopProcess:
    """The browser tests' shop (tests/e2e/shop_app.py) on its own origin, localhost:PORT."""

    def __init__(self, port: int, kopek_url: str, secret_key: str, log: Path) -> None:
        self.secret_key = secret_key
        self.kopek_url = kopek_url
        self.origin = f"http://localhost:{port}"
        self._log = open(log, "w")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "e2e" / "shop_app.py"), "--port", str(port),
             "--kopek-url", kopek_url, "--secret-key", secret_key],
            stdout=self._log, stderr=subprocess.STDOUT, env=kopek_env())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/shop.js", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the shop app did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self._log.close()
