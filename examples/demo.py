#!/usr/bin/env python3
"""The unixsock demo: echo servers and clients in different languages, talking
over each kind of socket, with the errors the seeds show.

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


def server_cmd(lang, path, kind):
    if lang == "C":
        prog = {"stream": "unixstreamserver", "dgram": "unixdataserver"}[kind]
        return [os.path.join(BUILD, "examples", "c", prog), path]
    return [PY, os.path.join(ROOT, "examples", "python", "echo_server.py"), path, kind]


def client_cmd(lang, path, kind):
    if lang == "C":
        prog = {"stream": "unixstreamclient", "dgram": "unixdataclient"}[kind]
        return [os.path.join(BUILD, "examples", "c", prog), path]
    return [PY, os.path.join(ROOT, "examples", "python", "echo_client.py"), path, kind]


def wait_for(path):
    for _ in range(500):
        if os.path.exists(path):
            return
        time.sleep(0.01)
    raise SystemExit(f"server did not create {path}")


def session(server_lang, client_lang, kind, tmp):
    path = os.path.join(tmp, f"{kind}.sock")
    print(f"\n=== {kind}: {server_lang} server, {client_lang} client ===")
    srv = subprocess.Popen(server_cmd(server_lang, path, kind), stdout=subprocess.PIPE, text=True)
    try:
        wait_for(path)
        out = subprocess.run(client_cmd(client_lang, path, kind), input="g1\ng2\ng3\n",
                             capture_output=True, text=True, timeout=30)
        print("client:", out.stdout.rstrip().replace("\n", "\n        "))
        if out.returncode:
            print("client failed:", out.stderr.strip())
    finally:
        srv.terminate()
        rest = srv.communicate(timeout=10)[0]
    print("server:", rest.rstrip().replace("\n", "\n        "))


def seeds_errors(tmp):
    print("\n=== the seeds' errors ===")
    missing = os.path.join(tmp, "unixstream.sock")
    r = subprocess.run(client_cmd("C", missing, "stream"), capture_output=True, text=True)
    print("$ unixstreamclient", missing, "\n" + r.stderr.strip())


def main():
    tmp = tempfile.mkdtemp(prefix="unixsock-demo-")
    try:
        for kind in ("stream", "dgram"):
            for server_lang, client_lang in (("C", "C"), ("C", "Python"), ("Python", "C")):
                session(server_lang, client_lang, kind, tmp)
        session("Python", "Python", "seqpacket", tmp)
        seeds_errors(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
