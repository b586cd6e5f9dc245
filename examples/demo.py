#!/usr/bin/env python3
"""The unixsock demo: for each kind of socket, a server in one language and
clients in the other two (C, Python, Lua) hold the seeds' echo session, and each
side shows the peer credentials the kernel gave it.  Then fd and credential
passing between languages, and the errors the seeds show.

Run it with scripts/demo.sh (which builds everything first)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("UNIXSOCK_BUILD_DIR", os.path.join(ROOT, "build", "cmake"))
PY = sys.executable
TOOL = os.path.join(BUILD, "cli", "unixsock")
C_PROGRAMS = {
    "stream": ("unixstreamserver", "unixstreamclient"),
    "dgram": ("unixdataserver", "unixdataclient"),
    "seqpacket": ("unixseqpacketserver", "unixseqpacketclient"),
}


def env():
    e = dict(os.environ)
    e["LUA_CPATH"] = os.path.join(BUILD, "lua", "?.so") + ";" + e.get("LUA_CPATH", ";;")
    return e


def cmd(lang, role, kind, path):
    if lang == "C":
        prog = C_PROGRAMS[kind][0 if role == "server" else 1]
        return [os.path.join(BUILD, "examples", "c", prog), path]
    if lang == "Python":
        return [PY, os.path.join(ROOT, "examples", "python", f"echo_{role}.py"), path, kind]
    return ["lua5.4", os.path.join(ROOT, "examples", "lua", f"echo_{role}.lua"), path, kind]


def serving(path):
    """Whether a socket at path takes clients: listening (the 0x10000 flag in
    /proc/net/unix), or a datagram socket (type 2), which needs no listen()."""
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            fields = line.rstrip("\n").split(None, 7)
            if len(fields) == 8 and fields[7] == path:
                if int(fields[3], 16) & 0x10000 or int(fields[4], 16) == 2:
                    return True
    return False


def wait_for(path):
    # not for the file: bind() creates it before listen(), and a client that
    # connected in between would be refused
    for _ in range(500):
        if serving(path):
            return
        time.sleep(0.01)
    raise SystemExit(f"no server at {path}")


def stop(proc):
    for _ in range(20):
        proc.terminate()
        try:
            return proc.communicate(timeout=0.5)[0]
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    return proc.communicate()[0]


def indent(text, by="          "):
    return text.rstrip().replace("\n", "\n" + by)


def session(server, clients, kind, tmp):
    path = os.path.join(tmp, f"{kind}.sock")
    print(f"\n=== {kind}: {server} server; {' and '.join(clients)} clients ===")
    srv = subprocess.Popen(cmd(server, "server", kind, path), stdout=subprocess.PIPE, text=True, env=env())
    try:
        wait_for(path)
        for client in clients:
            r = subprocess.run(cmd(client, "client", kind, path), input="g1\ng2\ng3\n",
                               capture_output=True, text=True, timeout=30, env=env())
            print(f"{client} client:")
            print("  stdout:", indent(r.stdout))
            if r.stderr.strip():
                print("  sees:  ", indent(r.stderr))
    finally:
        out = stop(srv)
    print(f"{server} server:")
    print("  ", indent(out, "   "))


def passing(tmp):
    print("\n=== a descriptor and credentials, Python -> C (the unixsock tool) ===")
    path = os.path.join(tmp, "fd.sock")
    secret = os.path.join(tmp, "secret.txt")
    with open(secret, "w") as f:
        f.write("this text travelled as an open file descriptor\n")
    srv = subprocess.Popen([TOOL, "listen", path, "-k", "seqpacket", "--recv-fds", "--cred"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(path)
    code = ("import unixsock\n"
            f"with unixsock.connect({path!r}, 'seqpacket') as c, open({secret!r}, 'rb') as f:\n"
            "    c.send_message(b'here is a file', [f], creds=True)\n")
    subprocess.run([PY, "-c", code], check=True, env=env())
    time.sleep(0.3)
    srv.terminate()
    out, err = srv.communicate(timeout=10)
    print("unixsock listen --recv-fds --cred printed:")
    print("   ", indent(out + err, "    "))


def seeds_errors(tmp):
    print("\n=== the seeds' errors ===")
    missing = os.path.join(tmp, "unixstream.sock")
    r = subprocess.run(cmd("C", "client", "stream", missing), capture_output=True, text=True)
    print("$ unixstreamclient", missing, "\n" + r.stderr.strip())
    data = os.path.join(tmp, "unixdata.sock")
    srv = subprocess.Popen(cmd("C", "server", "dgram", data), stdout=subprocess.DEVNULL)
    wait_for(data)
    r = subprocess.run(cmd("C", "client", "stream", data), capture_output=True, text=True)
    print("$ unixstreamclient", data, " # a dgram server there\n" + r.stderr.strip())
    stop(srv)
    r = subprocess.run([TOOL, "probe", data], capture_output=True, text=True)
    print("$ unixsock probe", data, " # after the server left\n" + r.stdout.strip())


def main():
    tmp = tempfile.mkdtemp(prefix="unixsock-demo-")
    try:
        session("Python", ["C", "Lua"], "stream", tmp)
        session("C", ["Python", "Lua"], "dgram", tmp)
        session("Lua", ["C", "Python"], "seqpacket", tmp)
        passing(tmp)
        seeds_errors(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
