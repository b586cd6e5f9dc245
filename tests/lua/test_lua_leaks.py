"""Lua calls that raise part-way (a bad argument found after something was
allocated) leak nothing: tests/lua/raising_calls.lua under valgrind memcheck."""
import os
import pathlib
import subprocess

from conftest import build_dir

HERE = pathlib.Path(__file__).parent


def test_raising_calls_leak_nothing_under_valgrind():
    env = dict(os.environ, LUA_CPATH=f"{build_dir() / 'lua'}/?.so;;")
    r = subprocess.run(
        ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite",
         "lua5.4", str(HERE / "raising_calls.lua")],
        env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", f"exit {r.returncode}\n{r.stdout}\n{r.stderr[-4000:]}"
