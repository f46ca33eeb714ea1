"""The widget's weight as served (gzip -9), checked on every change."""

import gzip

import pytest

from kopek.resources import widget_dir

BUDGET_GZIP_BYTES = {"loader.js": 3_000, "checkout.js": 12_000, "checkout.css": 2_500}


@pytest.mark.parametrize(("name", "budget"), BUDGET_GZIP_BYTES.items())
def test_widget_file_fits_its_budget(name, budget):
    size = len(gzip.compress((widget_dir() / name).read_bytes(), compresslevel=9))
    assert size <= budget, f"{name} is {size} bytes gzipped; the budget is {budget}"


def test_widget_never_posts_to_any_origin_or_uses_onmessage():
    for path in widget_dir().glob("*.js"):
        source = path.read_text()
        assert "'*')" not in source and '"*")' not in source, path.name
        assert "onmessage =" not in source, path.name
        assert "innerHTML" not in source, path.name
