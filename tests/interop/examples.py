"""How to start each language's echo server and client (examples/)."""
import os
import sys

from conftest import ROOT, build_dir


def _c(kind, role):
    names = {
        ("stream", "server"): "unixstreamserver",
        ("stream", "client"): "unixstreamclient",
        ("dgram", "server"): "unixdataserver",
        ("dgram", "client"): "unixdataclient",
        ("seqpacket", "server"): "unixseqpacketserver",
        ("seqpacket", "client"): "unixseqpacketclient",
    }
    prog = build_dir() / "examples" / "c" / names[(kind, role)]
    return lambda path: [str(prog), path]


def _python(kind, role):
    script = ROOT / "examples" / "python" / f"echo_{role}.py"
    return lambda path: [sys.executable, str(script), path, kind]


def _lua(kind, role):
    script = ROOT / "examples" / "lua" / f"echo_{role}.lua"
    return lambda path: ["lua5.4", str(script), path, kind]


def _cli(kind, role):
    tool = str(build_dir() / "cli" / "unixsock")
    if role == "server":
        return lambda path: [tool, "listen", path, "-k", kind, "--echo"]
    return lambda path: [tool, "connect", path, "-k", kind]


LANGUAGES = {"C": _c, "Python": _python, "Lua": _lua, "CLI": _cli}


def lua_env():
    """LUA_CPATH so that `require "unixsock"` finds the module CMake built."""
    env = dict(os.environ)
    env["LUA_CPATH"] = f"{build_dir() / 'lua'}/?.so;" + env.get("LUA_CPATH", ";;")
    return env


def command(lang, kind, role, path):
    return LANGUAGES[lang](kind, role)(path)
