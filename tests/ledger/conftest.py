"""Hypothesis for the money tests: no example database in the tree, no per-example deadline
(an example opens a SQLite file)."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("kopek", database=None, deadline=None)
settings.load_profile("kopek")
