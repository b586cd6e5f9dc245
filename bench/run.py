#!/usr/bin/env python3
"""Runs every benchmark and prints one table per metric, each row with its ratio
to the raw C loop measured in the same run (this machine is shared and noisy:
absolute numbers drift, ratios taken side by side hold).

    bash scripts/bench.sh              # build, run everything, print the tables
    bash scripts/bench.sh --write-docs # ... and rewrite docs/benchmarks.md
    python bench/run.py --smoke        # tiny counts: proves every benchmark runs

Latency runs pin both ends to one CPU (taskset -c 0): a cross-CPU wake-up costs
~70 us on this VM and would drown what is measured.  The busy-polling variant puts
the two ends on two CPUs, both polling without blocking."""
import argparse
import datetime
import os
import pathlib
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = pathlib.Path(os.environ.get("UNIXSOCK_BUILD_DIR", ROOT / "build" / "cmake")).resolve()
PEER = str(BUILD / "bench" / "c" / "bench_peer")
CCLIENT = str(BUILD / "bench" / "c" / "bench_client")
CLI = str(BUILD / "cli" / "unixsock")
PYCLIENT = [sys.executable, str(ROOT / "bench" / "python" / "client.py")]
LUACLIENT = ["lua5.4", str(ROOT / "bench" / "lua" / "client.lua")]
ENV = dict(os.environ, LUA_CPATH=f"{BUILD / 'lua'}/?.so;;")
HAVE_TASKSET = shutil.which("taskset") is not None
ONLY = None  # --only: a regular expression; tables whose title it does not match are skipped


def wanted(title: str) -> bool:
    return ONLY is None or re.search(ONLY, title) is not None


class Bench:
    def __init__(self, smoke: bool, repeats: int):
        self.smoke = smoke
        self.repeats = repeats
        self.counter = 0
        self.tmp = tempfile.mkdtemp(prefix="unixsock-bench-")

    def addr(self, path=False):
        self.counter += 1
        if path:
            return f"{self.tmp}/b{self.counter}.sock"
        return f"@unixsock-bench-{os.getpid()}-{self.counter}"

    def pin(self, cpu):
        usable = cpu is not None and cpu < (os.cpu_count() or 1)
        return ["taskset", "-c", str(cpu)] if HAVE_TASKSET and usable else []

    def once(self, peer_args, client_cmd, peer_cpu=0, client_cpu=0):
        peer = subprocess.Popen(self.pin(peer_cpu) + [PEER, *peer_args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            line = peer.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"peer {peer_args} did not start: {peer.stderr.read()}")
            r = subprocess.run(self.pin(client_cpu) + client_cmd, capture_output=True, text=True,
                               timeout=600, env=ENV)
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(client_cmd)} failed: {r.stderr.strip()}")
            return float(r.stdout.split()[0])
        finally:
            peer.kill()
            peer.communicate()

    def measure(self, peer_args_fn, client_fn, path=False, peer_cpu=0, client_cpu=0):
        """A cell of a table, run when the table is printed; peer_args_fn/client_fn
        take the address."""
        return Cell(self, peer_args_fn, client_fn, path, peer_cpu, client_cpu)


class Cell:
    def __init__(self, bench, peer_args_fn, client_fn, path, peer_cpu, client_cpu):
        self.bench, self.args = bench, (peer_args_fn, client_fn, path, peer_cpu, client_cpu)
        self.values = []

    def run_once(self):
        peer_args_fn, client_fn, path, peer_cpu, client_cpu = self.args
        a = self.bench.addr(path)
        self.values.append(self.bench.once(peer_args_fn(a), client_fn(a), peer_cpu, client_cpu))


def resolve(rows):
    """Medians of `repeats` rounds, each round running every row once: the rows of a
    table are interleaved, so a drift of the machine's speed hits them alike."""
    cells = [v for _, v in rows if isinstance(v, Cell)]
    for _ in range(cells[0].bench.repeats if cells else 0):
        for c in cells:
            c.run_once()
    return [(n, statistics.median(v.values) if isinstance(v, Cell) else v) for n, v in rows]


def table(title, unit, rows, lower_is_better):
    """rows: list of (name, value or Cell); the first row named 'raw C' is the floor.
    None, with nothing run, for a table --only leaves out."""
    if not wanted(title):
        return None
    rows = resolve(rows)
    base = next((v for n, v in rows if n.startswith("raw C")), None)
    out = [f"\n### {title}\n", f"| | {unit} | × raw C |", "|---|---:|---:|"]
    for name, v in rows:
        ratio = f"{v / base:.2f}" if base else "–"
        out.append(f"| {name} | {v:,.0f} | {ratio} |")
    out.append(f"\n({'lower' if lower_is_better else 'higher'} is better)")
    text = "\n".join(out)
    print(text, flush=True)
    return text


def run_all(b: Bench):
    n_rtt = 2000 if b.smoke else 100000
    n_rtt_py = 1000 if b.smoke else 50000
    n_rate = 6400 if b.smoke else 640000
    n_fds = 2000 if b.smoke else 100000
    sections = []

    # 1. round-trip latency, both ends on CPU 0
    for size in (64, 4096):
        for kind in ("stream", "dgram", "seqpacket"):
            rows = []
            echo = lambda a, k=kind: ["echo", k, a]
            rows.append(("raw C", b.measure(echo, lambda a: [CCLIENT, "rtt", "raw", kind, a, str(size), str(n_rtt)])))
            rows.append(("unixsock C", b.measure(echo, lambda a: [CCLIENT, "rtt", "us", kind, a, str(size), str(n_rtt)])))
            rows.append(("unixsock Python", b.measure(echo, lambda a: [*PYCLIENT, "rtt", "us", kind, a, str(size), str(n_rtt_py)])))
            rows.append(("Python socket", b.measure(echo, lambda a: [*PYCLIENT, "rtt", "std", kind, a, str(size), str(n_rtt_py)])))
            rows.append(("unixsock Lua", b.measure(echo, lambda a: [*LUACLIENT, "rtt", "us", kind, a, str(size), str(n_rtt_py)])))
            if kind != "seqpacket":
                rows.append(("luasocket", b.measure(echo, lambda a: [*LUACLIENT, "rtt", "luasocket", kind, a, str(size), str(n_rtt_py)], path=True)))
            if kind == "stream":
                port = str(20000 + os.getpid() % 20000)
                rows.append(("TCP loopback (NODELAY), raw C", b.measure(lambda a: ["tcp-echo", port], lambda a: [CCLIENT, "tcp", port, str(size), str(n_rtt)])))
            sections.append(table(f"Round trip, {kind}, {size} B, one CPU", "ns", rows, True))
    # both ends busy-polling on CPUs of their own: no wake-ups at all, so what is
    # left is the two ends' own work (syscalls included)
    for kind in ("stream", "seqpacket"):
        echo = lambda a, k=kind: ["spin-echo", k, a]
        rows = [
            ("raw C, busy-polling", b.measure(echo, lambda a: [CCLIENT, "spin", "raw", kind, a, "64", str(n_rtt)], peer_cpu=1)),
            ("unixsock C, busy-polling (timeout 0)", b.measure(echo, lambda a: [CCLIENT, "spin", "us", kind, a, "64", str(n_rtt)], peer_cpu=1)),
            ("unixsock Python, busy-polling (try_recv)", b.measure(echo, lambda a: [*PYCLIENT, "spin", "us", kind, a, "64", str(n_rtt_py)], peer_cpu=1)),
            ("Python socket, busy-polling (non-blocking)", b.measure(echo, lambda a: [*PYCLIENT, "spin", "std", kind, a, "64", str(n_rtt_py)], peer_cpu=1)),
            ("unixsock Lua, busy-polling (timeout 0)", b.measure(echo, lambda a: [*LUACLIENT, "spin", "us", kind, a, "64", str(n_rtt_py)], peer_cpu=1)),
        ]
        sections.append(table(f"Round trip, {kind}, 64 B, two CPUs, both ends busy-polling", "ns", rows, True))

    # 2. one-way message rate, 64 B: both ends on CPU 0 (sender and receiver share
    # the CPU, so both costs count), then the sink busy-polling on CPU 1 (the
    # sender is the bound, so what the sender saves shows whole)
    # (not dgram on two CPUs: a sender that outruns the sink fills the kernel's
    # 10-datagram queue and then waits for a cross-CPU wake-up, which is all that
    # row would measure)
    for kind, mode in [("dgram", "sink"), ("seqpacket", "sink"), ("stream", "sink"),
                       ("seqpacket", "spin-sink"), ("stream", "spin-sink")]:
        total = lambda framed: str(n_rate * (72 if framed else 64)) if kind == "stream" else str(n_rate)
        sink = lambda a, framed=False: [mode, kind, a, total(framed)]
        cpu = 1 if mode == "spin-sink" else 0
        rows = [
            ("raw C send", b.measure(sink, lambda a: [CCLIENT, "rate", "raw", kind, a, str(n_rate)], peer_cpu=cpu)),
            ("unixsock C send", b.measure(sink, lambda a: [CCLIENT, "rate", "us", kind, a, str(n_rate)], peer_cpu=cpu)),
            ("unixsock C send_batch (64)" + (", framed" if kind == "stream" else ""),
             b.measure(lambda a: sink(a, True), lambda a: [CCLIENT, "rate", "batch", kind, a, str(n_rate)], peer_cpu=cpu)),
            ("Python socket send", b.measure(sink, lambda a: [*PYCLIENT, "rate", "std", kind, a, str(n_rate)], peer_cpu=cpu)),
            ("unixsock Python send", b.measure(sink, lambda a: [*PYCLIENT, "rate", "us", kind, a, str(n_rate)], peer_cpu=cpu)),
            ("unixsock Python send_batch (64)" + (", framed" if kind == "stream" else ""),
             b.measure(lambda a: sink(a, True), lambda a: [*PYCLIENT, "rate", "batch", kind, a, str(n_rate)], peer_cpu=cpu)),
            ("unixsock Lua send", b.measure(sink, lambda a: [*LUACLIENT, "rate", "us", kind, a, str(n_rate)], peer_cpu=cpu)),
            ("unixsock Lua send_batch (64)" + (", framed" if kind == "stream" else ""),
             b.measure(lambda a: sink(a, True), lambda a: [*LUACLIENT, "rate", "batch", kind, a, str(n_rate)], peer_cpu=cpu)),
        ]
        where = "one CPU" if mode == "sink" else "two CPUs, sink busy-polling"
        sections.append(table(f"One-way message rate, {kind}, 64 B, {where}", "messages/s", rows, False))

    # 3. bulk stream throughput: the client receives what a raw C source writes
    total = 64 << 20 if b.smoke else 2 << 30
    for chunk in (64 << 10, 1 << 20):
        for rcvbuf in (0, 4 << 20):
            src = lambda a: ["source", a, str(total), str(chunk)]
            rows = [
                ("raw C recv", b.measure(src, lambda a: [CCLIENT, "bulk", "raw", a, str(total), str(chunk), str(rcvbuf)], peer_cpu=1)),
                ("unixsock C recv", b.measure(src, lambda a: [CCLIENT, "bulk", "us", a, str(total), str(chunk), str(rcvbuf)], peer_cpu=1)),
                ("Python socket recv_into", b.measure(src, lambda a: [*PYCLIENT, "bulk", "std", a, str(total), str(chunk)], peer_cpu=1)),
                ("unixsock Python recv_into", b.measure(src, lambda a: [*PYCLIENT, "bulk", "us", a, str(total), str(chunk)], peer_cpu=1)),
            ]
            if rcvbuf == 0:
                port = str(20000 + (os.getpid() + chunk) % 20000)
                rows.append(("TCP loopback, raw C", b.measure(lambda a: ["tcp-echo", port], lambda a: [CCLIENT, "tcpbulk", port, str(total // 4), str(chunk)], peer_cpu=1)))
            label = "default buffers" if rcvbuf == 0 else "SO_RCVBUF 4 MiB (C rows)"
            sections.append(table(f"Bulk stream, {chunk >> 10} KiB writes, {label}, two CPUs", "MiB/s", rows, False))

    # 3b. the CLI as a relay, against socat: a stream's data copied to stdout (a
    # pipe that bench/python/relay.py out drains and counts), both on CPU 0, the source
    # on CPU 1 (it closes when done, so end of stream ends either relay)
    relay_total = 16 << 20 if b.smoke else 1 << 30
    chunk = 64 << 10
    src = lambda a: ["source", a, str(relay_total), str(chunk)]
    src_eof = lambda a: ["source-eof", a, str(relay_total), str(chunk)]
    relay_py = [sys.executable, str(ROOT / "bench" / "python" / "relay.py")]
    relay = [*relay_py, "out", str(relay_total)]
    rows = [
        ("raw C recv (no pipe)", b.measure(src, lambda a: [CCLIENT, "bulk", "raw", a, str(relay_total), str(chunk), "0"], peer_cpu=1)),
        ("unixsock connect (CLI)", b.measure(src_eof, lambda a: [*relay, CLI, "connect", a], peer_cpu=1)),
        ("socat -u ABSTRACT-CONNECT", b.measure(src_eof, lambda a: [*relay, "socat", "-u", f"ABSTRACT-CONNECT:{a[1:]}", "-"], peer_cpu=1)),
        ("socat -u -b 1048576 (a 1 MiB buffer)", b.measure(src_eof, lambda a: [*relay, "socat", "-u", "-b", "1048576", f"ABSTRACT-CONNECT:{a[1:]}", "-"], peer_cpu=1)),
    ]
    sections.append(table(f"CLI relay, stream to a pipe, {chunk >> 10} KiB writes, two CPUs", "MiB/s", rows, False))
    # the other way: a pipe on the relay's stdin (bench/python/relay.py in writes
    # into it, 1 MiB a write) to a stream, into a raw C sink on CPU 1
    sink = lambda a: ["sink", "stream", a, str(relay_total)]
    feed = [*relay_py, "in", str(relay_total)]
    rows = [
        ("raw C send (no pipe)", b.measure(sink, lambda a: [CCLIENT, "bulk-send", a, str(relay_total), str(1 << 20)], peer_cpu=1)),
        ("unixsock connect (CLI)", b.measure(sink, lambda a: [*feed, CLI, "connect", a], peer_cpu=1)),
        ("socat ABSTRACT-CONNECT", b.measure(sink, lambda a: [*feed, "socat", "-", f"ABSTRACT-CONNECT:{a[1:]}"], peer_cpu=1)),
        ("socat -b 1048576 (a 1 MiB buffer)", b.measure(sink, lambda a: [*feed, "socat", "-b", "1048576", "-", f"ABSTRACT-CONNECT:{a[1:]}"], peer_cpu=1)),
    ]
    sections.append(table("CLI relay, a pipe to a stream, 1 MiB writes, two CPUs", "MiB/s", rows, False))

    # 4. fd passing rate, 1 fd per message: both ends on CPU 0 (the sink's receive
    # and close count too), then seqpacket with the sink busy-polling on CPU 1, where
    # the sender is the bound (not dgram there, for the reason given at 2.)
    for kind, mode in [("seqpacket", "sink"), ("dgram", "sink"), ("seqpacket", "spin-sink")]:
        sink = lambda a, k=kind, m=mode: [m, k, a, str(n_fds)]
        cpu = 1 if mode == "spin-sink" else 0
        rows = [
            ("raw C sendmsg", b.measure(sink, lambda a: [CCLIENT, "fds", "raw", kind, a, str(n_fds)], peer_cpu=cpu)),
            ("unixsock C send_message", b.measure(sink, lambda a: [CCLIENT, "fds", "us", kind, a, str(n_fds)], peer_cpu=cpu)),
            ("Python socket.send_fds", b.measure(sink, lambda a: [*PYCLIENT, "fds", "std", kind, a, str(n_fds)], peer_cpu=cpu)),
            ("unixsock Python send_message", b.measure(sink, lambda a: [*PYCLIENT, "fds", "us", kind, a, str(n_fds)], peer_cpu=cpu)),
            ("unixsock Lua send_message", b.measure(sink, lambda a: [*LUACLIENT, "fds", "us", kind, a, str(n_fds)], peer_cpu=cpu)),
            ("unixsock C send_batch (64)", b.measure(sink, lambda a: [CCLIENT, "fds", "batch", kind, a, str(n_fds)], peer_cpu=cpu)),
            ("unixsock Python send_batch (64)", b.measure(sink, lambda a: [*PYCLIENT, "fds", "batch", kind, a, str(n_fds)], peer_cpu=cpu)),
            ("unixsock Lua send_batch (64)", b.measure(sink, lambda a: [*LUACLIENT, "fds", "batch", kind, a, str(n_fds)], peer_cpu=cpu)),
        ]
        where = "one CPU" if mode == "sink" else "two CPUs, sink busy-polling"
        sections.append(table(f"fd passing, {kind}, one fd per message, {where}", "messages/s", rows, False))

    # 4b. the receiving end of fd passing: a raw C source sends, the measured end
    # receives each message and closes its fd, both on CPU 0
    for kind in ("seqpacket", "dgram"):
        src = lambda a, k=kind: ["fd-source", k, a, str(n_fds)]
        rows = [
            ("raw C recvmsg", b.measure(src, lambda a: [CCLIENT, "fds-in", "raw", kind, a, str(n_fds)])),
            ("unixsock C recv_message", b.measure(src, lambda a: [CCLIENT, "fds-in", "us", kind, a, str(n_fds)])),
            ("Python socket.recv_fds", b.measure(src, lambda a: [*PYCLIENT, "fds-in", "std", kind, a, str(n_fds)])),
            ("unixsock Python recv_message", b.measure(src, lambda a: [*PYCLIENT, "fds-in", "us", kind, a, str(n_fds)])),
            ("unixsock Lua recv_message", b.measure(src, lambda a: [*LUACLIENT, "fds-in", "us", kind, a, str(n_fds)])),
            ("unixsock C recv_batch (64)", b.measure(src, lambda a: [CCLIENT, "fds-in", "batch", kind, a, str(n_fds)])),
            ("unixsock Python recv_batch (64)", b.measure(src, lambda a: [*PYCLIENT, "fds-in", "batch", kind, a, str(n_fds)])),
            ("unixsock Lua recv_batch (64)", b.measure(src, lambda a: [*LUACLIENT, "fds-in", "batch", kind, a, str(n_fds)])),
        ]
        sections.append(table(f"fd receiving, {kind}, one fd per message, one CPU", "messages/s", rows, False))

    # 5. user-space instructions per round trip (callgrind: noise-free)
    if shutil.which("valgrind"):
        sections.extend(instructions(b))

    # 6. scale: many clients on one poller thread
    sections = [s for s in sections if s is not None]
    if not wanted("Concurrent echo clients on one poller thread (C)"):
        return sections
    rows = []
    for n in ((100, 1000) if b.smoke else (1000, 10000)):
        r = subprocess.run([CCLIENT, "scale", str(n)], capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"scale {n}: {r.stderr}")
        secs, errors, kb = r.stdout.split()
        rows.append(f"| {n:,} | {float(secs):.3f} | {errors} | {float(kb):.1f} |")
    text = "\n".join(["\n### Concurrent echo clients on one poller thread (C)\n",
                      "| clients | seconds | errors | KiB per connection (RSS) |", "|---:|---:|---:|---:|", *rows])
    print(text, flush=True)
    sections.append(text)
    return sections


def instructions(b: Bench):
    """Instructions per round trip, and per empty try, = (I(2N) - I(N)) / N, which
    cancels start-up."""
    n1, n2 = (200, 400) if b.smoke else (2000, 4000)
    rtt = [
        ("unixsock C", lambda a, n: [CCLIENT, "rtt", "us", "stream", a, "64", str(n)]),
        ("raw C", lambda a, n: [CCLIENT, "rtt", "raw", "stream", a, "64", str(n)]),
        ("unixsock Python", lambda a, n: [*PYCLIENT, "rtt", "us", "stream", a, "64", str(n)]),
        ("Python socket", lambda a, n: [*PYCLIENT, "rtt", "std", "stream", a, "64", str(n)]),
        ("unixsock Lua", lambda a, n: [*LUACLIENT, "rtt", "us", "stream", a, "64", str(n)]),
        ("luasocket", lambda a, n: [*LUACLIENT, "rtt", "luasocket", "stream", a, "64", str(n)]),
    ]
    poll = [
        ("raw C", lambda a, n: [CCLIENT, "poll", "raw", "stream", a, str(n)]),
        ("unixsock C", lambda a, n: [CCLIENT, "poll", "us", "stream", a, str(n)]),
        ("unixsock Python try_recv (None)", lambda a, n: [*PYCLIENT, "poll", "try", "stream", a, str(n)]),
        ("unixsock Python recv (BlockingIOError)", lambda a, n: [*PYCLIENT, "poll", "us", "stream", a, str(n)]),
        ("Python socket recv (BlockingIOError)", lambda a, n: [*PYCLIENT, "poll", "std", "stream", a, str(n)]),
        ("unixsock Lua (nil, message, errno)", lambda a, n: [*LUACLIENT, "poll", "us", "stream", a, str(n)]),
        ("luasocket (nil, \"timeout\")", lambda a, n: [*LUACLIENT, "poll", "luasocket", "stream", a, str(n)]),
    ]
    fds = [
        ("raw C sendmsg", lambda a, n: [CCLIENT, "fds", "raw", "seqpacket", a, str(n)]),
        ("unixsock C send_message", lambda a, n: [CCLIENT, "fds", "us", "seqpacket", a, str(n)]),
        ("Python socket.send_fds", lambda a, n: [*PYCLIENT, "fds", "std", "seqpacket", a, str(n)]),
        ("unixsock Python send_message", lambda a, n: [*PYCLIENT, "fds", "us", "seqpacket", a, str(n)]),
        ("unixsock Lua send_message", lambda a, n: [*LUACLIENT, "fds", "us", "seqpacket", a, str(n)]),
    ]
    tables = [("User-space instructions per round trip (callgrind), stream, 64 B", rtt, {}),
              ("User-space instructions per empty non-blocking recv (callgrind), stream", poll, {}),
              ("User-space instructions per message sent with one fd (callgrind), seqpacket", fds,
               {"peer": lambda a, n: ["sink", "seqpacket", a, str(n)]})]
    return [table(title, "instructions", callgrind_rows(b, clients, n1, n2, **peer), True)
            for title, clients, peer in tables if wanted(title)]


def callgrind_rows(b: Bench, clients, n1, n2, peer=lambda a, n: ["echo", "stream", a]):
    rows = []
    for name, fn in clients:
        counts = []
        for n in (n1, n2):
            a = b.addr(path=name.startswith("luasocket"))
            out = pathlib.Path(b.tmp) / f"cg.{b.counter}"
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *fn(a, n)]
            b.once(peer(a, n), cmd, None, None)
            summary = re.search(r"^summary: (\d+)", out.read_text(), re.M)
            counts.append(int(summary.group(1)))
        rows.append((name, (counts[1] - counts[0]) / (n2 - n1)))
    rows.sort(key=lambda r: not r[0].startswith("raw C"))
    return rows


def machine():
    cpu = "unknown CPU"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except StopIteration:
        pass
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), "
            f"Python {platform.python_version()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny counts: check that everything runs")
    ap.add_argument("--repeats", type=int, default=None, help="runs per cell (median); default 5, smoke 1")
    ap.add_argument("--write-docs", action="store_true", help="rewrite docs/benchmarks.md")
    ap.add_argument("--only", metavar="REGEX", help="run only the tables whose title matches")
    args = ap.parse_args()
    if args.only is not None and args.write_docs:
        ap.error("--write-docs needs every table: leave out --only")
    global ONLY
    ONLY = args.only
    b = Bench(args.smoke, args.repeats or (1 if args.smoke else 5))
    print(f"# unixsock benchmarks — {machine()}", flush=True)
    try:
        sections = run_all(b)
    finally:
        shutil.rmtree(b.tmp, ignore_errors=True)
    if args.write_docs:
        head = (ROOT / "bench" / "README.md").read_text()
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        (ROOT / "docs" / "benchmarks.md").write_text(
            head + f"\n## Latest run\n\n{stamp} on {machine()}, medians of {b.repeats} runs.\n"
            + "\n".join(sections) + "\n")


if __name__ == "__main__":
    main()
