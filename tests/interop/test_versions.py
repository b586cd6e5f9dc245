"""One version everywhere: the package metadata, the Python module, the Lua module
and the command-line tool all report the C library's."""
import importlib.metadata
import pathlib
import re
import subprocess

import unixsock
from conftest import build_dir
from examples import lua_env

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_every_language_reports_the_same_version():
    # Python had no __version__ at all
    project = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    cmake = re.search(r"project\(unixsock VERSION (\S+)", (ROOT / "CMakeLists.txt").read_text()).group(1)
    lua = subprocess.run(["lua5.4", "-e", 'io.write(require("unixsock").version)'], env=lua_env(),
                         capture_output=True, text=True, timeout=30)
    cli = subprocess.run([str(build_dir() / "cli" / "unixsock"), "--version"],
                         capture_output=True, text=True, timeout=30)
    assert unixsock.__version__ == project == cmake == importlib.metadata.version("unixsock")
    assert lua.stdout == unixsock.__version__, lua.stderr
    assert cli.stdout.split() == ["unixsock", unixsock.__version__]
