"""Lua's listen_fds under a (bash-played) service manager: busted cannot put
sockets at fds 3.. before the interpreter starts, so these run lua5.4 directly."""

import pytest

import unixsock
from conftest import build_dir, run_activated


def run_lua(listener, n, code, **env):
    env["LUA_CPATH"] = f"{build_dir() / 'lua'}/?.so;;"
    return run_activated(listener, n, ["lua5.4", "-e", code], **env)


def test_listen_fds_reports_every_fd_passed_past_64(sockdir):
    # the binding asked for at most 64 entries: the 65th and later sockets were
    # never reported (and stayed open, unseen)
    code = """
        local unixsock = require "unixsock"
        local fds = assert(unixsock.listen_fds())
        assert(#fds == 70, #fds)
        for i, f in ipairs(fds) do
          assert(f.fd == i + 2 and f.errno == 0 and f.socket, f.fd)
        end
        assert(fds[70].socket:fileno() == 72 and fds[70].socket:kind() == "stream")
        for _, f in ipairs(fds) do f.socket:close() end
    """
    with unixsock.listen(str(sockdir / "many.sock")) as l:
        done = run_lua(l, 70, code)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("count", ["99999", "1O"])  # over the most; garbled (it was {})
def test_listen_fds_with_a_count_no_service_manager_writes_says_so(sockdir, count):
    code = """
        local unixsock = require "unixsock"
        local ok, msg, err = unixsock.listen_fds()
        assert(ok == nil and err == unixsock.errno.EINVAL, msg)
        assert(msg == "listen_fds: LISTEN_FDS must be 0 to 32767", msg)
        assert(os.getenv("LISTEN_FDS") == nil) -- unset as asked, even so
    """
    with unixsock.listen(str(sockdir / "over.sock")) as l:
        done = run_lua(l, 1, code, LISTEN_FDS=count)
    assert done.returncode == 0, done.stderr
