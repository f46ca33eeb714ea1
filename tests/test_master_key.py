"""The instance master key lives outside the database, as real `kopek serve` processes show.

What an operator and an attacker with a stolen database file would see: the key file beside the
database (0600), KOPEK_SECRET_KEY instead of it, a copy of kopek.db alone that derives nothing,
a database from an older version whose keys move out, and `kopek keys rotate` with its grace.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from kopek.ids import derive_client_secret
from kopek.payments.precheck import check_secret
from kopek.webhooks.signing import derive_secret
from processes import KopekProcess, create_merchant, free_port, http_json, kopek_env, run_cli
from webhook_receiver import Receiver

pytestmark = pytest.mark.timeout(120)


class Shop:
    """A merchant on a real server, with each kind of secret Kopek derives."""

    def __init__(self, tmp_path: Path, env: dict[str, str] | None = None) -> None:
        self.db = tmp_path / "kopek.db"
        self.env = env
        self.keys = create_merchant(self.db, "Key shop", "https://shop.example") if env is None else \
            json.loads(run_cli("merchant", "create", "--name", "Key shop", "--json", db=self.db, env=env).stdout)
        self.server: KopekProcess | None = None

    def start(self) -> KopekProcess:
        self.server = KopekProcess(self.db, free_port(), env=self.env)
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        assert self.server is not None
        auth = headers if headers is not None else {"Authorization": f"Bearer {self.keys['secret_key']}"}
        return http_json(method, self.server.base_url + path, body, auth)

    def issue_every_secret(self) -> dict[str, Any]:
        status, payment = self.call("POST", "/v1/payments", {"amount": 500, "currency": "RUB", "order_id": "k-1"})
        assert status == 201, payment
        status, endpoint = self.call("POST", "/v1/webhook_endpoints", {"url": "https://shop.example/hooks"})
        assert status == 201, endpoint
        status, merchant = self.call("POST", "/v1/merchant", {"check_url": "https://shop.example/check"})
        assert status == 200, merchant
        return {"payment": payment, "endpoint": endpoint, "check_secret": merchant["check_secret"],
                "merchant_id": self.keys["id"]}

    def checkout(self, payment_id: str, client_secret: str) -> int:
        return self.call("GET", f"/v1/checkout/{payment_id}", headers={"Kopek-Client-Secret": client_secret})[0]


@pytest.fixture
def shop(tmp_path):
    made = Shop(tmp_path)
    yield made
    made.stop()


def every_value(db: Path) -> list[bytes]:
    """Each cell of each table, as bytes and, where it reads as hex, decoded: what an attacker
    with the file would try as a key."""
    found: list[bytes] = []
    with sqlite3.connect(db) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for cell in row:
                    raw = cell if isinstance(cell, bytes) else str(cell).encode()
                    found.append(raw)
                    try:
                        found.append(bytes.fromhex(raw.decode()))
                    except ValueError:
                        pass
    return found


def recomputed(candidates: list[bytes], issued: dict[str, Any]) -> list[str]:
    payment, endpoint = issued["payment"], issued["endpoint"]
    hits = []
    for key in candidates:
        if derive_client_secret(key, payment["id"]) == payment["client_secret"]:
            hits.append("client secret")
        if derive_secret(key, endpoint["id"], 1) == endpoint["secret"]:
            hits.append("webhook secret")
        if check_secret(key, issued["merchant_id"]) == issued["check_secret"]:
            hits.append("check secret")
    return hits


def test_a_copy_of_the_database_alone_derives_no_secret_and_does_not_start(shop, tmp_path):
    shop.start()
    issued = shop.issue_every_secret()
    shop.stop()
    stolen = tmp_path / "stolen" / "kopek.db"
    stolen.parent.mkdir()
    shutil.copy(shop.db, stolen)
    assert recomputed(every_value(stolen), issued) == [], "the database file alone must not hold the key"

    refused = run_cli("serve", "--port", str(free_port()), db=stolen)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "key file" in refused.stderr and "restore it from your backup" in refused.stderr
    assert not (stolen.parent / "kopek.db.key").exists(), "no new key that would void every secret issued"


def test_the_key_file_is_made_once_beside_the_database_for_the_owner_alone(shop):
    key_file = shop.db.with_name("kopek.db.key")
    assert key_file.exists(), "`kopek merchant create` on a new database makes the key first"
    assert key_file.stat().st_mode & 0o777 == 0o600
    first = key_file.read_bytes()
    shop.start()
    issued = shop.issue_every_secret()
    shop.stop()
    shop.start()
    assert key_file.read_bytes() == first
    assert shop.checkout(issued["payment"]["id"], issued["payment"]["client_secret"]) == 200
    assert shop.call("GET", f"/v1/payments/{issued['payment']['id']}")[1]["client_secret"] == \
        issued["payment"]["client_secret"], "the same key after a restart"


def test_a_key_file_others_can_read_is_refused(shop):
    key_file = shop.db.with_name("kopek.db.key")
    key_file.chmod(0o640)
    refused = run_cli("serve", "--port", str(free_port()), db=shop.db)
    assert refused.returncode == 2 and "chmod 600" in refused.stderr, refused.stderr


def test_a_garbled_key_file_is_refused(shop):
    shop.db.with_name("kopek.db.key").write_text("not a key")
    refused = run_cli("serve", "--port", str(free_port()), db=shop.db)
    assert refused.returncode == 2 and "garbled" in refused.stderr, refused.stderr


def test_kopek_secret_key_replaces_the_key_file(tmp_path):
    env = kopek_env({"KOPEK_SECRET_KEY": os.urandom(32).hex()})
    shop = Shop(tmp_path, env=env)
    try:
        shop.start()
        issued = shop.issue_every_secret()
        assert not shop.db.with_name("kopek.db.key").exists()
        shop.stop()
        shop.start()
        assert shop.checkout(issued["payment"]["id"], issued["payment"]["client_secret"]) == 200
        shop.stop()
        other = kopek_env({"KOPEK_SECRET_KEY": os.urandom(32).hex()})
        shop.env = other
        shop.start()
        assert shop.checkout(issued["payment"]["id"], issued["payment"]["client_secret"]) == 401
    finally:
        shop.stop()


@pytest.mark.parametrize("value", ["short", "ab" * 16 + "zz", "00" * 31])
def test_a_malformed_kopek_secret_key_is_refused(tmp_path, value):
    refused = run_cli("serve", "--port", str(free_port()), db=tmp_path / "kopek.db",
                      env=kopek_env({"KOPEK_SECRET_KEY": value}))
    assert refused.returncode == 2 and "KOPEK_SECRET_KEY" in refused.stderr, refused.stderr


def test_keys_an_older_version_kept_in_the_database_move_into_the_key_file(shop):
    """An older Kopek kept its keys in the `instance_secrets` table: simulated by writing them there."""
    shop.start()
    payment = shop.issue_every_secret()["payment"]
    shop.stop()
    old = {"client_secret_key": os.urandom(32).hex(), "webhook_secret_key": os.urandom(32).hex(),
           "dashboard_form_key": os.urandom(32).hex()}
    shop.db.with_name("kopek.db.key").unlink()
    with sqlite3.connect(shop.db) as conn:
        conn.executemany("INSERT INTO instance_secrets VALUES (?, ?)", old.items())
    conn.close()

    shop.start()
    issued_before = derive_client_secret(bytes.fromhex(old["client_secret_key"]), payment["id"])
    assert shop.checkout(payment["id"], issued_before) == 200, "secrets the older version issued still work"
    status, endpoint = shop.call("POST", "/v1/webhook_endpoints", {"url": "https://shop.example/other"})
    assert endpoint["secret"] == derive_secret(bytes.fromhex(old["webhook_secret_key"]), endpoint["id"], 1)
    shop.stop()
    with sqlite3.connect(shop.db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM instance_secrets").fetchone()[0] == 0
    conn.close()
    files = b"".join(path.read_bytes() for path in shop.db.parent.glob("kopek.db*") if not path.name.endswith(".key"))
    assert not any(value.encode() in files or bytes.fromhex(value) in files for value in old.values())
    assert shop.db.with_name("kopek.db.key").stat().st_mode & 0o777 == 0o600


def test_rotation_keeps_old_secrets_working_through_the_grace(shop):
    shop.start()
    issued = shop.issue_every_secret()
    shop.stop()
    rotated = run_cli("keys", "rotate", "--grace-hours", "1", db=shop.db)
    assert rotated.returncode == 0, rotated.stderr
    assert "Restart every Kopek instance" in rotated.stdout
    again = run_cli("keys", "rotate", db=shop.db)
    assert again.returncode == 2 and "grace" in again.stderr, "a second rotation would cut the grace short"

    shop.start()
    payment = issued["payment"]
    assert shop.checkout(payment["id"], payment["client_secret"]) == 200
    fresh = shop.call("GET", f"/v1/payments/{payment['id']}")[1]["client_secret"]
    assert fresh != payment["client_secret"] and shop.checkout(payment["id"], fresh) == 200


def test_rotation_without_grace_retires_the_old_key_at_once(shop):
    shop.start()
    payment = shop.issue_every_secret()["payment"]
    shop.stop()
    assert run_cli("keys", "rotate", "--grace-hours", "0", db=shop.db).returncode == 0
    shop.start()
    status, body = shop.call("GET", f"/v1/checkout/{payment['id']}",
                             headers={"Kopek-Client-Secret": payment["client_secret"]})
    assert status == 401 and body["error"]["code"] == "invalid_client_secret"


async def test_during_the_grace_webhooks_verify_with_the_secret_the_shop_already_has(shop, aiohttp_server):
    receiver = Receiver()
    url = await receiver.start(aiohttp_server)
    shop.start()
    status, endpoint = shop.call("POST", "/v1/webhook_endpoints", {"url": url})
    assert status == 201, endpoint
    shop.stop()
    assert run_cli("keys", "rotate", "--grace-hours", "1", db=shop.db).returncode == 0
    shop.start()
    status, _ = shop.call("POST", f"/v1/webhook_endpoints/{endpoint['id']}/test")
    assert status < 300
    delivered = (await receiver.wait_count(1))[0]
    assert delivered.verify(endpoint["secret"])["type"] == delivered.payload["type"]
    assert len(delivered.signatures) == 2, "signed with the secret of each key, old and new"
