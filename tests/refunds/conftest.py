"""Refund tests: webhook retries compressed, and receivers' servers set up before Kopek so they
are torn down after Kopek's webhook sender has stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kopek.settings import Settings
from support import make_settings


@pytest.fixture
def kopek_settings(tmp_path: Path, unused_tcp_port: int, aiohttp_server: Any) -> Settings:
    return make_settings(tmp_path, unused_tcp_port, webhook_retry_scale=0.001, webhook_timeout_s=1.0)
