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


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another uid")
def test_permission_denied_says_which_file_refused_and_why(sockdir):
    # busted runs as root: the script runs as nobody, where the files refuse it
    import pwd
    import shutil
    import subprocess
    import unixsock
    private = sockdir / "private"
    private.mkdir(mode=0o700)
    hidden, closed = str(private / "app.sock"), str(sockdir / "closed.sock")
    code = f"""
        local unixsock = require "unixsock"
        print((select(2, unixsock.connect({closed!r}))))
        print((select(2, unixsock.connect({hidden!r}))))
        print((select(2, unixsock.listen({str(sockdir / "new.sock")!r}))))
    """
    # the module, where nobody may read it (the repository may sit in /root)
    shutil.copy(build_dir() / "lua" / "unixsock.so", sockdir / "unixsock.so")
    env = dict(os.environ, LUA_CPATH=f"{sockdir}/?.so;;")
    with unixsock.listen(closed, mode=0o600), unixsock.bind(hidden):
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "lua5.4", "-e", code], capture_output=True, text=True, timeout=30, env=env)
    me = f"uid 65534 ({pwd.getpwuid(65534).pw_name})"
    assert r.stdout.splitlines() == [
        f"connect {closed}: Permission denied; {me} may not write to {closed} (owner root:root mode 0600)",
        f"connect {hidden}: Permission denied; {me} may not search {private} (owner root:root mode 0700)",
        f"listen {sockdir}/new.sock: Permission denied; {me} may not create files in {sockdir} "
        "(owner root:root mode 0755)",
    ], r.stderr
