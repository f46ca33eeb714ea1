"""Webhook tests run with the retry schedule compressed (5 s becomes 5 ms) and a short timeout.
`@pytest.mark.webhook_settings(name=value)` changes them for one test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kopek.settings import Settings
from support import make_settings

WEBHOOK_DEFAULTS: dict[str, Any] = {"webhook_retry_scale": 0.001, "webhook_timeout_s": 1.0}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "webhook_settings(**settings): Settings overrides for one webhook test")


@pytest.fixture
def kopek_settings(request: pytest.FixtureRequest, tmp_path: Path, unused_tcp_port: int,
                   aiohttp_server: Any) -> Settings:
    # aiohttp_server (the receivers' servers) is set up before Kopek, so it is torn down after
    # Kopek's sender has stopped: a receiver must not be shutting down while it is still sent to.
    marker = request.node.get_closest_marker("webhook_settings")
    return make_settings(tmp_path, unused_tcp_port, **{**WEBHOOK_DEFAULTS, **(marker.kwargs if marker else {})})
