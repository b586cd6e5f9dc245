"""Runs the busted specs (tests/lua/*_spec.lua) under Lua 5.4, one pytest item
per spec file, so pytest's summary covers the Lua suite too."""
import os
import pathlib
import subprocess

import pytest

from conftest import build_dir

HERE = pathlib.Path(__file__).parent
SPECS = sorted(p.name for p in HERE.glob("*_spec.lua"))


@pytest.mark.parametrize("spec", SPECS)
def test_busted_spec(spec):
    env = dict(os.environ)
    env["LUA_CPATH"] = f"{build_dir() / 'lua'}/?.so;;"
    env["LUA_PATH"] = f"{HERE}/?.lua;;"
    r = subprocess.run(
        ["lua5.4", "/usr/bin/busted", "--output=utfTerminal", "--no-auto-insulate", spec],
        cwd=HERE, env=env, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, f"busted {spec}:\n{r.stdout}\n{r.stderr}"
    assert " 0 failures" in r.stdout and " 0 errors" in r.stdout, r.stdout
