"""Hypothesis for the money tests: no example database, no per-example deadline (an example
opens a SQLite file), and its caches in a temporary folder rather than the source tree."""

from __future__ import annotations

import shutil
import tempfile

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="kopek-hypothesis-")
set_hypothesis_home_dir(HYPOTHESIS_HOME)
settings.register_profile("kopek", database=None, deadline=None)
settings.load_profile("kopek")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(HYPOTHESIS_HOME, ignore_errors=True)
