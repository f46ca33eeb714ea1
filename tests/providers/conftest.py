"""Fixtures for the wallet tests. The shared harness that serves a wallet's simulator, its
connector and a callback receiver over real HTTP is `test_contract.serve_wallet`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
