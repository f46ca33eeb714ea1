"""The URL pattern the OpenAPI document states admits only URLs that the server accepts, so a client that
follows the document is never refused for a URL's shape (schemathesis generates from this pattern)."""

from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st
from marshmallow import Schema

from kopek.url_shape import URL_PATTERN, http_url
from kopek.webhooks.guard import url_problem


class ReturnUrl(Schema):
    return_url = http_url("for the test")


@settings(max_examples=500, derandomize=True)
@given(st.from_regex(URL_PATTERN, fullmatch=True))
def test_every_url_the_document_admits_is_accepted(url):
    assert url_problem(url) is None, url
    assert ReturnUrl().validate({"return_url": url}) == {}, url


def test_the_pattern_refuses_what_the_server_refuses():
    for url in ("http://127.1/", "http://0x7f.0.0.1/", "http://2130706433/", "http://010.0.0.1/",
                "http://shop.example:70000/", "ftp://shop.example/", "http://user@shop.example/", ""):
        assert not re.match(URL_PATTERN, url), url


def test_the_pattern_admits_ordinary_urls():
    for url in ("https://shop.example/thanks?order=1", "http://127.0.0.1:8080/hook", "http://localhost:3000",
                "https://xn--80ak6aa92e.xn--p1ai/"):
        assert re.match(URL_PATTERN, url), url
