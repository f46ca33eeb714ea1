"""The command line, run as real processes on a real SQLite file."""

from __future__ import annotations

import json
import urllib.request

from processes import KopekProcess, create_merchant, free_port, http_json, run_cli


def test_merchant_create_prints_keys_once_and_stores_only_hashes(tmp_path):
    db = tmp_path / "kopek.db"
    merchant = create_merchant(db, "Shop", "https://shop.example", "http://localhost:3000/")
    assert merchant["id"].startswith("mer_")
    assert merchant["publishable_key"].startswith("pk_test_")
    assert merchant["secret_key"].startswith("sk_test_")
    assert merchant["origins"] == ["https://shop.example", "http://localhost:3000"]
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("kopek.db"))
    assert merchant["secret_key"].encode() not in raw
    assert merchant["live_secret_key"].encode() not in raw

    listed = run_cli("merchant", "list", "--json", db=db)
    assert [m["id"] for m in json.loads(listed.stdout)] == [merchant["id"]]
    assert "sk_" not in listed.stdout


def test_merchant_create_refuses_bad_origins(tmp_path):
    for origin in ("ftp://shop.example", "https://shop.example/path", "not a url", "https://"):
        done = run_cli("merchant", "create", "--name", "Shop", "--origin", origin, db=tmp_path / "k.db")
        assert done.returncode == 2 and "origin" in done.stderr, origin


def test_migrate_is_idempotent(tmp_path):
    for _ in range(2):
        done = run_cli("migrate", db=tmp_path / "kopek.db")
        assert done.returncode == 0 and "up to date" in done.stdout


def test_bad_mode_is_a_clear_error(tmp_path):
    done = run_cli("migrate", db=tmp_path / "kopek.db", env={"KOPEK_MODE": "prod", "PATH": ""} | _pythonpath())
    assert done.returncode == 2 and "mode" in done.stderr


def _pythonpath():
    from processes import kopek_env
    return {"PYTHONPATH": kopek_env()["PYTHONPATH"]}


def test_serve_creates_the_sandbox_merchant_on_first_start_only(tmp_path):
    db = tmp_path / "kopek.db"
    server = KopekProcess(db, free_port())
    try:
        first = server.output()
        assert "Created the sandbox merchant" in first and "sk_test_" in first
        assert f"{server.base_url}/sandbox" in first and f"{server.base_url}/dashboard" in first
        assert "Dashboard login (shown once): sandbox@kopek.test / " in first
        secret = next(line.split()[-1] for line in first.splitlines() if line.strip().startswith("secret_key"))
        status, payment = http_json("POST", f"{server.base_url}/v1/payments",
                                    {"amount": 500, "currency": "RUB", "order_id": "cli-1"},
                                    {"Authorization": f"Bearer {secret}"})
        assert status == 201 and payment["status"] == "requires_wallet"
        with urllib.request.urlopen(f"{server.base_url}/sandbox") as page:
            assert page.status == 200 and b"/v1/kopek.js" in page.read()
    finally:
        server.stop()
    again = KopekProcess(db, free_port())
    try:
        assert "sk_test_" not in again.output() and "Dashboard login" not in again.output()
    finally:
        again.stop()
    assert "sk_test_" not in again.output()
