"""The OpenAPI document tells the truth: every JSON route under /v1 is in it, and it is valid OpenAPI."""

from __future__ import annotations

from openapi_spec_validator import validate

from kopek.app import create_app
from kopek.web.openapi import build_spec
from tests.support import make_settings

# Served under /v1 but not part of the JSON API, so deliberately left out of the document.
NOT_THE_JSON_API = {
    ("GET", "/v1/checkout/{id}/frame"),  # the iframe's HTML page
    ("GET", "/v1/checkout/{id}/live"),  # a websocket, which OpenAPI 3.0 cannot describe
    ("GET", "/v1/kopek.js"),  # the widget's script
    ("GET", "/v1/openapi.json"),  # the document itself
    ("POST", "/v1/providers/{wallet}/callback"),  # called by wallet providers, not by shops
}


def served_routes(tmp_path) -> set[tuple[str, str]]:
    app = create_app(make_settings(tmp_path, 0))
    served = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        # aiohttp answers HEAD for every GET by itself; the GET stands for both.
        if path.startswith("/v1/") and route.method != "HEAD":
            served.add((route.method, path))
    return served


def documented_routes(document) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_every_served_v1_route_is_documented(tmp_path):
    document = build_spec("http://127.0.0.1:8000")
    undocumented = served_routes(tmp_path) - NOT_THE_JSON_API - documented_routes(document)
    assert undocumented == set(), f"served but not in /v1/openapi.json: {sorted(undocumented)}"


def test_every_documented_route_is_served(tmp_path):
    document = build_spec("http://127.0.0.1:8000")
    assert documented_routes(document) - served_routes(tmp_path) == set()


def test_the_document_is_valid_openapi():
    validate(build_spec("http://127.0.0.1:8000"))


def test_every_write_documents_the_busy_database_answer():
    """tests/web/test_database_busy.py shows the 503; a client generated from the document must expect it."""
    document = build_spec("http://127.0.0.1:8000")
    writes = [(path, method, operation) for path, item in document["paths"].items()
              for method, operation in item.items() if method in ("post", "put", "patch", "delete")]
    assert writes
    for path, method, operation in writes:
        busy = operation["responses"].get("503")
        assert busy is not None, f"{method.upper()} {path} does not document 503"
        assert "database_busy" in busy["description"] and "content" in busy, (method, path)
