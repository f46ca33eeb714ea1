"""The widget's weight as served: the built files' gzip budgets, and what a cold load puts on the wire
(the loader, the frame with its script and style inside, and the checkout state the frame asks for),
checked on every change."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import aiohttp
import pytest

from kopek.resources import widget_dir

SHOP_ORIGIN = "http://shop.test:8001"   # the kopek fixture's merchant (tests/conftest.py)
SOURCE_DIR = Path(__file__).resolve().parents[2] / "widget" / "src"
LOADER_BUDGET = 2_048            # gzipped, as served
COLD_LOAD_BUDGET = 13_500        # loader, frame and checkout state on the wire; with headers, under 15 KB
BUDGET_GZIP_BYTES = {"loader.js": LOADER_BUDGET, "checkout.js": 9_000, "checkout.css": 1_700}


@pytest.mark.parametrize(("name", "budget"), BUDGET_GZIP_BYTES.items())
def test_widget_file_fits_its_budget(name, budget):
    size = len(gzip.compress((widget_dir() / name).read_bytes(), compresslevel=9))
    assert size <= budget, f"{name} is {size} bytes gzipped; the budget is {budget}"


async def on_the_wire(url: str, **headers: str) -> tuple[aiohttp.ClientResponse, bytes]:
    """The bytes as sent, as a browser asks for them (gzip accepted), without decompressing them."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        async with session.get(url, headers={"Accept-Encoding": "gzip, deflate", **headers}) as response:
            return response, await response.read()


async def test_a_cold_load_is_the_loader_and_the_frame_within_budget(kopek):
    loader, loader_bytes = await on_the_wire(str(kopek.client.make_url("/v1/kopek.js")))
    assert loader.status == 200 and loader.headers["Content-Encoding"] == "gzip"
    assert loader.headers["Vary"] == "Accept-Encoding"
    assert len(loader_bytes) <= LOADER_BUDGET and gzip.decompress(loader_bytes) == (widget_dir() / "loader.js").read_bytes()

    payment = await kopek.create_payment()
    frame, frame_bytes = await on_the_wire(str(kopek.client.make_url(
        f"/v1/checkout/{payment['id']}/frame?origin={SHOP_ORIGIN}&locale=en")))
    assert frame.status == 200 and frame.headers["Content-Encoding"] == "gzip"
    page = gzip.decompress(frame_bytes).decode()
    assert (widget_dir() / "checkout.js").read_text() in page and (widget_dir() / "checkout.css").read_text() in page
    assert not re.search(r'<(script|link)[^>]+(src|href)=', page), "the frame loads nothing more"

    state, state_bytes = await on_the_wire(str(kopek.client.make_url(f"/v1/checkout/{payment['id']}")),
                                           **{"Kopek-Client-Secret": payment["client_secret"]})
    assert state.status == 200 and state.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(state_bytes))["payment"]["id"] == payment["id"]
    sizes = (len(loader_bytes), len(frame_bytes), len(state_bytes))
    assert sum(sizes) <= COLD_LOAD_BUDGET, sizes


async def test_without_gzip_the_same_files_come_plain(kopek):
    async with aiohttp.ClientSession() as session:
        async with session.get(kopek.client.make_url("/v1/kopek.js"), headers={"Accept-Encoding": "identity"}) as plain:
            assert "Content-Encoding" not in plain.headers
            assert await plain.read() == (widget_dir() / "loader.js").read_bytes()


@pytest.mark.parametrize("accept", ["gzip;q=0", "gzip; q=0.0, identity", "*;q=0", "br", "x-gzip;q=0, *"])
async def test_an_encoding_refused_with_q_0_is_not_used(kopek, accept):
    payment = await kopek.create_payment()
    for path in ("/v1/kopek.js", f"/v1/checkout/{payment['id']}/frame?origin={SHOP_ORIGIN}&locale=en"):
        response, body = await on_the_wire(str(kopek.client.make_url(path)), **{"Accept-Encoding": accept})
        assert response.status == 200 and "Content-Encoding" not in response.headers, (path, accept)
        assert response.headers["Vary"] == "Accept-Encoding" and (b"kopek" in body.lower()), path


@pytest.mark.parametrize("accept", ["GZIP;q=0.5", "deflate, gzip;q=1.0", "*", "identity;q=0.5, *;q=0.1"])
async def test_gzip_named_or_covered_by_a_star_with_q_above_0_is_used(kopek, accept):
    response, body = await on_the_wire(str(kopek.client.make_url("/v1/kopek.js")), **{"Accept-Encoding": accept})
    assert response.headers["Content-Encoding"] == "gzip", accept
    assert gzip.decompress(body) == (widget_dir() / "loader.js").read_bytes()


@pytest.mark.parametrize("name", ["checkout.js", "checkout.css"])
async def test_the_frames_inlined_files_are_not_served_on_their_own(kopek, name):
    response = await kopek.client.get(f"/static/widget/{name}")
    assert response.status == 404 and (await response.json())["error"]["code"] == "resource_missing"


@pytest.mark.parametrize("directory", [SOURCE_DIR, widget_dir()], ids=["source", "built"])
def test_widget_never_posts_to_any_origin_or_uses_onmessage(directory):
    for path in directory.glob("*.js"):
        source = path.read_text()
        assert not re.search(r"""['"]\*['"]\s*\)""", source), path.name
        assert not re.search(r"onmessage\s*=", source), path.name
        assert "innerHTML" not in source, path.name
