"""The installed package's annotations (py.typed): mypy checks the package
itself, and a user's script under --strict, catching a wrong call in it.  mypy
comes with the test extra (pip install '.[test]')."""
import subprocess
import sys

USER_SCRIPT = '''
import asyncio
import os
from typing import List, Optional

import unixsock
import unixsock.aio


def serve(address: str) -> None:
    with unixsock.listen(address, mode=0o600) as listener, listener.accept() as conn:
        data: bytes = conn.recv(4096)
        conn.send(data)
        m: Optional[unixsock.Message] = conn.recv_message()
        if m is not None:
            fds: List[int] = list(m.fds)
            for fd in fds:
                os.close(fd)
        peer: unixsock.Peer = conn.peer()
        print(peer.pid, peer.uid)


async def ask(address: str) -> bytes:
    conn = await unixsock.aio.open_connection(address, timeout=5.0)
    async with conn:
        await conn.send(b"ping")
        return await conn.recv(100)


print(asyncio.run(ask("@x")))
'''


def mypy(*args, cwd):
    return subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cwd / ".mypy_cache"), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_package_type_checks(tmp_path):
    r = mypy("-p", "unixsock", cwd=tmp_path)  # the installed copy: tmp_path holds no source
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_user_script_type_checks_strictly_and_a_wrong_call_is_caught(tmp_path):
    (tmp_path / "user.py").write_text(USER_SCRIPT)
    r = mypy("--strict", "user.py", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    (tmp_path / "user.py").write_text(USER_SCRIPT.replace("conn.recv(4096)", 'conn.recv("4096")'))
    r = mypy("--strict", "user.py", cwd=tmp_path)
    assert r.returncode == 1 and 'Argument 1 to "recv" of "Socket" has incompatible type "str"' in r.stdout, \
        r.stdout + r.stderr
