"""Load: 10,000 concurrent clients and 1,000,000 messages through an echo server
on the poller, with clients killed at random mid-message: every acknowledged
message arrived intact, the server never crashed, no fd leaked."""
import subprocess

from conftest import build_dir


def test_ten_thousand_clients_a_million_messages_with_kills():
    r = subprocess.run([str(build_dir() / "tests" / "load" / "unixsock_load"), "10000", "1000000", "500"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    figures = dict(kv.split("=") for kv in r.stdout.split())
    assert figures["acked"] == figures["messages"] == "1000000"
    assert figures["errors"] == figures["server_errors"] == figures["fds_leaked"] == "0"
    assert int(figures["kills"]) > 100
    print(r.stdout)  # the figures reach docs/reliability.md
