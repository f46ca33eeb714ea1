"""widget/built, which Kopek serves, is exactly what `./dev build` makes of widget/src today: an edit
to a source file without a rebuild fails here. esbuild comes from package-lock.json (npm ci)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"


def build_command(outdir: Path) -> list[str]:
    """package.json's build script, writing to `outdir` instead of widget/built."""
    words = shlex.split(json.loads((ROOT / "package.json").read_text())["scripts"]["build"])
    assert words[0] == "esbuild" and "--outdir=widget/built" in words
    sources = [str(path) for word in words[1:] if not word.startswith("--") for path in sorted(ROOT.glob(word))]
    options = [f"--outdir={outdir}" if word == "--outdir=widget/built" else word
               for word in words[1:] if word.startswith("--")]
    return [str(ESBUILD), *sources, *options, "--log-level=warning"]


def test_the_built_widget_is_the_build_of_the_sources(tmp_path):
    if not ESBUILD.is_file():
        reason = "esbuild is not installed (node_modules/.bin/esbuild): run `npm ci` (./dev test does it)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}", pytrace=False)
        pytest.skip(reason)
    subprocess.run(build_command(tmp_path), check=True, cwd=ROOT, timeout=60)
    built = {path.name: path.read_bytes() for path in (ROOT / "widget" / "built").iterdir()}
    fresh = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert sorted(built) == sorted(fresh)
    stale = [name for name in fresh if built[name] != fresh[name]]
    assert stale == [], f"run ./dev build: {stale} differ from widget/src"
