"""A non-editable install carries the templates, the widget and the migrations, and runs."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

from processes import KopekProcess, free_port, kopek_env

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(ROOT)], check=True, timeout=300)
    return next(out.glob("kopek-*.whl"))


def test_the_wheel_carries_templates_widget_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"kopek/_templates/checkout.html", "kopek/_templates/sandbox.html", "kopek/_widget/loader.js",
                "kopek/_widget/checkout.js", "kopek/_widget/checkout.css",
                "kopek/store/migrations/0001_initial.sql"}
    assert expected <= names
    assert any(n.endswith("entry_points.txt") for n in names)


@pytest.mark.timeout(120)
def test_the_installed_wheel_serves_the_widget_and_sandbox(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, timeout=300)
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    server = KopekProcess(elsewhere / "kopek.db", free_port(), env=kopek_env(pythonpath=str(target)), cwd=elsewhere)
    try:
        for path, needle in [("/v1/kopek.js", b"postMessage"), ("/sandbox", b'action="/sandbox/payments"'),
                             ("/static/widget/pages.css", b"box-sizing")]:
            with urllib.request.urlopen(server.base_url + path, timeout=10) as response:
                assert response.status == 200 and needle in response.read(), path
    finally:
        server.stop()
    where = subprocess.run([sys.executable, "-c", "import kopek.resources as r; print(r.templates_dir(), r.widget_dir())"],
                           capture_output=True, text=True, env=kopek_env(pythonpath=str(target)), cwd=elsewhere)
    assert where.stdout.split() == [str(target / "kopek" / "_templates"), str(target / "kopek" / "_widget")]
