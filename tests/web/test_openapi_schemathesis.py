"""Schemathesis against a real `kopek serve`: what the server answers matches /v1/openapi.json, and no
input makes it fail with a 5xx."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import requests
import schemathesis
from schemathesis import checks
from hypothesis import HealthCheck, settings

from kopek.web.openapi import build_spec
from processes import KopekProcess, free_port


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = KopekProcess(tmp_path_factory.mktemp("schemathesis") / "kopek.db", free_port())
    yield process
    process.stop()


@pytest.fixture(scope="module")
def sandbox_secret_key(server):
    return secret_key_of(server)


@pytest.fixture
def quiet_server(tmp_path):
    """A server of its own, out of reach of the fuzzing run's key-guess backoff."""
    process = KopekProcess(tmp_path / "kopek.db", free_port())
    yield process
    process.stop()


def secret_key_of(process: KopekProcess) -> str:
    """serve prints the sandbox merchant's secret key on its first start."""
    return next(line.split()[-1] for line in process.output().splitlines()
                if line.strip().startswith("secret_key"))


# The document the server serves at /v1/openapi.json (built the same way; the servers entry is unused).
schema = schemathesis.openapi.from_dict(build_spec("http://127.0.0.1"))


@schema.parametrize()
@settings(derandomize=True, max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_responses_match_the_document(case, server, sandbox_secret_key):
    case.call_and_validate(base_url=server.base_url, headers={"Authorization": f"Bearer {sandbox_secret_key}"},
                           excluded_checks=NOT_EXPRESSIBLE)


# Left out, on purpose:
# - missing_required_header and ignored_auth want a 401 for a request without a key or with a wrong one,
#   but once this run's many bad keys
#   from 127.0.0.1 trip the per-address guess backoff (web/requests.py), every request from it is a
#   documented 429 until the delay passes: the throttle working, not a lie in the document.
# - positive_data_acceptance: some rules are the merchant's settings, not the schema's (return_url must
#   lie on an allowed origin, wallets must be enabled); schema-valid input can be a correct 400.
NOT_EXPRESSIBLE = [checks.missing_required_header, checks.ignored_auth, checks.positive_data_acceptance]


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
