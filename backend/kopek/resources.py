"""Where the templates and widget files are: inside the wheel, or in the source tree."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_SOURCE_TREE = _PACKAGE.parents[1]


def _find(packaged: str, in_tree: str) -> Path:
    for candidate in (_PACKAGE / packaged, _SOURCE_TREE / in_tree):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find {in_tree} next to the kopek package")


def templates_dir() -> Path:
    return _find("_templates", "templates")


def widget_dir() -> Path:
    return _find("_widget", "widget/built")
