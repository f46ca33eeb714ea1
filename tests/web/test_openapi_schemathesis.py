"""Schemathesis against a real `kopek serve`: what the server answers matches /v1/openapi.json, and no
input makes it fail with a 5xx."""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from kopek.web.openapi import build_spec
from processes import KopekProcess, free_port, kopek_env


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Behind a trusted proxy, as a public deployment is: each case comes from a client address of its own
    (X-Forwarded-For), as the many shoppers and shops of a real day do. The per-address key-guess backoff
    (web/requests.py) then answers each case as it would answer one client, and the auth checks see the
    401s the document promises; the backoff itself is tested in tests/web/test_credential_throttles.py,
    and per address behind a proxy in tests/web/test_trusted_proxies.py."""
    process = KopekProcess(tmp_path_factory.mktemp("schemathesis") / "kopek.db", free_port(),
                           env=kopek_env({"KOPEK_TRUSTED_PROXIES": "127.0.0.1/32"}))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def sandbox_secret_key(server):
    return secret_key_of(server)


@pytest.fixture(scope="module")
def feed_cursor(server, sandbox_secret_key):
    """A next_cursor this server gave: a cursor is the server's to issue, not the schema's to describe."""
    answer = requests.get(f"{server.base_url}/v1/events", headers={"Authorization": f"Bearer {sandbox_secret_key}"},
                          timeout=5)
    return answer.json()["next_cursor"]


@pytest.fixture
def quiet_server(tmp_path):
    """A server of its own, for tests that need a fresh merchant."""
    process = KopekProcess(tmp_path / "kopek.db", free_port())
    yield process
    process.stop()


def secret_key_of(process: KopekProcess) -> str:
    """serve prints the sandbox merchant's secret key on its first start."""
    return next(line.split()[-1] for line in process.output().splitlines()
                if line.strip().startswith("secret_key"))


# The document the server serves at /v1/openapi.json (built the same way; the servers entry is unused).
schema = schemathesis.openapi.from_dict(build_spec("http://127.0.0.1"))
CLIENTS = itertools.count(1)


@schema.parametrize()
@settings(derandomize=True, max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_responses_match_the_document(case, server, sandbox_secret_key, feed_cursor):
    as_a_new_client(case)
    if case.meta is not None and case.meta.generation.mode.is_positive:
        with_the_merchants_state(case, server.base_url, feed_cursor)
    case.call_and_validate(base_url=server.base_url, headers={"Authorization": f"Bearer {sandbox_secret_key}"})


def as_a_new_client(case) -> None:
    """A client address of its own, and a fresh Idempotency-Key, as a real client sends for a new request
    (the generated keys repeat across operations, and reusing one with other parameters is a correct 400)."""
    n = next(CLIENTS)
    case.headers = {**(case.headers or {}), "X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"}
    if "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"schemathesis-{n}"


def with_the_merchants_state(case, origin: str, feed_cursor: str) -> None:
    """What a schema-valid request must also satisfy, by rules that depend on state the document cannot
    hold: a return_url on one of the merchant's allowed origins (this server's own, for the sandbox
    merchant), a feed cursor the server issued, and a fee maximum not below the minimum (a comparison
    of two fields, which JSON Schema cannot state), and a button's expires_at within its lifetime from now
    (the clock's state). One rule is the document's own, which OpenAPI 3.0 can only describe in words:
    metadata keys of 1 to 40 characters (propertyNames is 3.1). Each rule's refusal is tested in its own area."""
    body = case.body if isinstance(case.body, dict) else {}
    if isinstance(body.get("metadata"), dict):
        body["metadata"] = {f"k{n}": value for n, value in enumerate(body["metadata"].values())}
    if isinstance(body.get("expires_at"), str):
        body["expires_at"] = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    if isinstance(body.get("return_url"), str):
        body["return_url"] = origin + urlsplit(body["return_url"])._replace(scheme="", netloc="").geturl()
    if isinstance(body.get("minimum"), int) and isinstance(body.get("maximum"), int):
        body["maximum"] = max(body["maximum"], body["minimum"])
    if case.path == "/v1/events" and isinstance(case.query, dict) and "after" in case.query:
        case.query["after"] = feed_cursor


def test_a_non_ascii_payment_id_is_a_401_not_a_500(server):
    request = urllib.request.Request(f"{server.base_url}/v1/checkout/%C3%96%C2%AB",
                                     headers={"Kopek-Client-Secret": "pay_x_secret_y"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=5)
    with answer.value:
        assert answer.value.code == 401
        assert json.loads(answer.value.read())["error"]["code"] == "invalid_client_secret"


def test_a_multipart_form_without_a_boundary_is_a_400_not_a_500(server):
    request = urllib.request.Request(f"{server.base_url}/v1/buttons/btn_x/checkout", data=b"pk=pk_test_x",
                                     headers={"Content-Type": "multipart/form-data"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=5)
    with answer.value:
        assert answer.value.code == 400


@pytest.mark.parametrize("path,body", [
    ("/v1/webhook_endpoints", {"url": "http://127.0.0.1:9/hook"}),
    ("/v1/merchant", {"check_url": "http://127.0.0.1:9/check"}),
])
def test_a_replayed_creation_matches_the_document_too(quiet_server, path, body):
    """A replay answers secret: null with secret_shown_once (web/idempotency.py); the first answer has the secret."""
    operation = schema[path]["POST"]
    headers = {"Authorization": f"Bearer {secret_key_of(quiet_server)}", "Idempotency-Key": "replay-test"}
    first, replay = (requests.post(quiet_server.base_url + path, json=body, headers=headers, timeout=5) for _ in range(2))
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json().get("secret", replay.json().get("check_secret")) is None
    assert replay.json()["secret_shown_once"] is True
    operation.validate_response(first)
    operation.validate_response(replay)
