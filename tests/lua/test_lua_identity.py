"""Lua's credentials where busted cannot put the receiver: in a pid namespace of
its own (unshare --pid), as a server in a container is to the host."""
import os

import pytest

from conftest import build_dir, heard_from_another_pid_namespace


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a pid namespace")
def test_credentials_from_a_pid_namespace_out_of_sight_keep_their_ids(abstract):
    # the host's processes are pid 0 in there, with real ids: they came as nil
    # creds, and an allow list refused them
    addr = abstract()
    code = f"""
        local unixsock = require "unixsock"
        local s <close> = assert(unixsock.bind({addr!r}, {{ allow_uids = {{ {os.getuid()} }} }}))
        s:settimeout(10)
        print("ready")
        io.stdout:flush()
        local m = assert(s:recv_message())
        print(m.data, m.creds and m.creds.pid, m.creds and m.creds.uid, m.creds and m.creds.gid)
    """
    env = dict(os.environ, LUA_CPATH=f"{build_dir() / 'lua'}/?.so;;")
    out, err = heard_from_another_pid_namespace(["lua5.4", "-e", code], addr, b"from outside", env)
    assert out == f"from outside\t0\t{os.getuid()}\t{os.getgid()}\n", err
