"""Schemathesis against a real `kopek serve`: what the server answers matches /v1/openapi.json, and no
input makes it fail with a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
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
    """serve prints the sandbox merchant's secret key on its first start."""
    return next(line.split()[-1] for line in server.output().splitlines()
                if line.strip().startswith("secret_key"))


# The document the server serves at /v1/openapi.json (built the same way; the servers entry is unused).
schema = schemathesis.openapi.from_dict(build_spec("http://127.0.0.1"))


@schema.parametrize()
@settings(derandomize=True, max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_responses_match_the_document(case, server, sandbox_secret_key):
    case.call_and_validate(base_url=server.base_url, headers={"Authorization": f"Bearer {sandbox_secret_key}"})
