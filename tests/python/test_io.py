"""Bytes through the binding: buffer protocol, send-all, timeouts, EINTR,
signals, the GIL."""
import array
import errno
import re
import os
import signal
import socket
import threading
import time

import pytest

import unixsock


def test_payloads_cross_as_any_buffer():
    a, b = unixsock.pair("seqpacket")
    with a, b:
        for data in (b"bytes", bytearray(b"bytearray"), memoryview(b"xxmemoryview")[2:], array.array("B", b"array")):
            a.send(data)
            assert b.recv(100) == bytes(data)


def test_str_payload_is_typeerror():
    a, b = unixsock.pair()
    with a, b:
        with pytest.raises(TypeError):
            a.send("text")


def test_recv_into_fills_callers_buffer():
    a, b = unixsock.pair()
    with a, b:
        a.send(b"0123456789")
        buf = bytearray(4)
        assert b.recv_into(buf) == 4 and buf == b"0123"
        view = memoryview(bytearray(10))
        assert b.recv_into(view, 3) == 3 and bytes(view[:3]) == b"456"
        with pytest.raises(TypeError):
            b.recv_into(b"readonly")


def test_stream_send_writes_every_byte():
    a, b = unixsock.pair()
    a.send_buffer = 4096
    big = os.urandom(4 << 20)
    got = bytearray()

    def drain():
        while True:
            chunk = b.recv(65536)
            if not chunk:
                return
            got.extend(chunk)

    t = threading.Thread(target=drain)
    t.start()
    assert a.send(big) == len(big)
    a.close()
    t.join()
    b.close()
    assert got == big


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_send_to_closed_peer_is_brokenpipe(kind):
    a, b = unixsock.pair(kind)
    b.close()
    with a, pytest.raises(BrokenPipeError):
        a.send(b"x")


def test_recv_returns_empty_at_end_of_stream():
    a, b = unixsock.pair()
    a.send(b"z")
    a.close()
    with b:
        assert b.recv(10) == b"z"
        assert b.recv(10) == b""


@pytest.mark.parametrize("kind", ["stream", "dgram", "seqpacket"])
def test_recv_of_zero_bytes_returns_at_once_like_socket(kind):
    # socket.socketpair().recv(0) is b"" at once; the kernel itself would wait
    a, b = unixsock.pair(kind)
    with a, b:
        b.settimeout(5)  # waiting would end in TimeoutError
        assert b.recv(0) == b""
        assert b.try_recv(0) == b""
        assert b.recv_into(bytearray(0)) == 0
        a.send(b"kept")
        assert b.recv(0) == b""
        assert b.recv(10) == b"kept"


def test_bad_receive_sizes_are_valueerror_as_in_socket():
    # the same exception and message as socket's; recv_into(buf, -1) used to read
    # into the whole buffer (and wait), recv_into(small, 10) to read fewer silently
    a, b = unixsock.pair("dgram")
    with a, b:
        b.settimeout(5)
        for call, message in (
            (lambda: b.recv(-1), "negative buffersize in recv"),
            (lambda: b.try_recv(-1), "negative buffersize in try_recv"),
            (lambda: b.recvfrom(-1), "negative buffersize in recvfrom"),
            (lambda: b.recv_into(bytearray(4), -1), "negative buffersize in recv_into"),
            (lambda: b.recv_into(bytearray(4), 10), "buffer too small for requested bytes"),
        ):
            with pytest.raises(ValueError, match=message):
                call()
        a.send(b"abcd")
        buf = bytearray(8)
        assert b.recv_into(buf, 4) == 4 and buf[:4] == b"abcd"


def test_nonblocking_is_blockingioerror():
    a, b = unixsock.pair("dgram")
    with a, b:
        b.settimeout(0)
        assert b.gettimeout() == 0
        with pytest.raises(BlockingIOError):
            b.recv(10)


def test_every_error_gets_a_note_of_its_own():
    # the note text is made once per operation; each error must still get a
    # fresh __notes__ list, or a note one caller adds would show up on the next
    a, b = unixsock.pair("dgram")
    with a, b:
        b.settimeout(0)
        with pytest.raises(BlockingIOError) as first:
            b.recv(10)
        assert first.value.__notes__ == ["in unixsock.recv"]
        first.value.__notes__.append("seen by the caller")  # add_note does this (Python 3.11+)
        with pytest.raises(BlockingIOError) as second:
            b.recv(10)
        assert second.value.__notes__ == ["in unixsock.recv"]
        with pytest.raises(BlockingIOError) as other:
            b.recvfrom(10)
        assert other.value.__notes__ == ["in unixsock.recvfrom"]


def test_timeout_is_timeouterror_and_bounds_the_call():
    a, b = unixsock.pair()
    with a, b:
        b.settimeout(0.1)
        assert b.gettimeout() == 0.1
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            b.recv(10)
        assert time.monotonic() - t0 >= 0.09


def test_a_stream_send_cut_by_its_timeout_leaves_what_went_before_it():
    # as the docs say (and as socket.sendall does): TimeoutError, the bytes before
    # it sent, and the socket still usable
    a, b = unixsock.pair()
    with a, b:
        a.settimeout(0.1)
        with pytest.raises(TimeoutError):
            a.send(b"x" * (8 << 20))
        b.settimeout(0)
        got = 0
        while (chunk := b.try_recv(1 << 20)):
            got += len(chunk)
        assert 0 < got < 8 << 20
        a.send(b"after")
        assert b.recv(5) == b"after"


def test_small_timeout_is_not_rounded_to_nonblocking():
    a, b = unixsock.pair()
    with a, b:
        b.settimeout(0.0001)
        assert b.gettimeout() > 0


@pytest.mark.parametrize("timeout, kept", [
    (float("inf"), None),          # raised OverflowError; now waits for ever, as in Lua and the CLI
    (1e300, 2147483.647),          # capped at INT_MAX ms
    (10**400, 2147483.647),        # an int past float's range is still finite
    (0.0015, 0.002),               # rounded up, never down
])
def test_timeouts_convert_as_in_every_language(timeout, kept):
    a, b = unixsock.pair()
    with a, b:
        b.settimeout(timeout)
        assert b.gettimeout() == kept


def test_connect_takes_an_infinite_timeout():
    with pytest.raises(ConnectionRefusedError):
        unixsock.connect(f"@unixsock-nobody-{os.getpid()}", timeout=float("inf"))


@pytest.mark.parametrize("timeout", [None, 1.0, 0])
def test_message_longer_than_buffer_is_emsgsize(timeout):
    a, b = unixsock.pair("dgram")
    with a, b:
        b.settimeout(timeout)
        a.send(b"too long")
        with pytest.raises(OSError) as e:
            b.recv(4)
        assert e.value.errno == errno.EMSGSIZE
        # it said "Message too long" alone: not that the datagram was dropped, nor its size
        assert e.value.__notes__[1] == ("the datagram that arrived had 8 bytes, more than recv asked for: it "
                                        "was dropped, not cut (ask for as many, or use recv_message)")
        a.send(b"next")
        assert b.recv(4) == b"next"  # the long one was consumed, not left in the way


@pytest.mark.parametrize("kind, noun", [("dgram", "datagram"), ("seqpacket", "seqpacket message")])
def test_a_send_too_long_says_how_long_one_may_be(kind, noun):
    a, b = unixsock.pair(kind)
    with a, b:
        a.send_buffer = 10000  # the kernel makes it 20000
        with pytest.raises(OSError) as e:
            a.send(b"x" * 20000)
        assert e.value.errno == errno.EMSGSIZE
        assert e.value.__notes__[1].startswith(f"this socket sends a {noun} of at most 19968 bytes: its send buffer "
                                               "(20000 bytes) less 32; a larger send_buffer raises it")
        assert a.send(b"x" * 19968) == 19968  # the most, exactly
        b.max_message = 100
        with pytest.raises(OSError) as e:
            b.recv_message()
        assert e.value.__notes__[1] == f"a {noun} of 19968 bytes, over this socket's max_message (100): it was dropped"


def ticks_while(call, unblock):
    """How often a ticker thread got to run while call() waited; unblock(done)
    runs in a thread of its own, ends the wait, and may run until done is set."""
    ticks, done = [], threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(1)
            time.sleep(0.001)

    threads = [threading.Thread(target=ticker), threading.Thread(target=unblock, args=(done,))]
    for t in threads:
        t.start()
    try:
        call()
    finally:
        done.set()
        for t in threads:
            t.join()
    return len(ticks)


@pytest.mark.parametrize("call", ["recv", "recv_into"])
@pytest.mark.parametrize("kind", ["stream", "dgram", "seqpacket"])
def test_blocking_recv_releases_the_gil(kind, call):
    # packets are first tried with the GIL held: the GIL must still go when they wait
    a, b = unixsock.pair(kind)

    def sender(done):
        time.sleep(0.2)
        a.send(b"late")

    def receive():
        if call == "recv":
            assert b.recv(10) == b"late"
        else:
            buf = bytearray(10)
            assert b.recv_into(buf) == 4 and buf[:4] == b"late"

    with a, b:
        assert ticks_while(receive, sender) > 20  # the ticker ran while recv waited


@pytest.mark.parametrize("kind", ["stream", "dgram", "seqpacket"])
def test_blocking_send_message_releases_the_gil_while_it_waits(kind):
    # packets are first tried with the GIL held: the GIL must still go when they wait
    a, b = unixsock.pair(kind)
    a.settimeout(0)
    try:
        while True:
            a.send(bytes(65536) if kind == "stream" else b"fill")
    except BlockingIOError:
        pass
    a.settimeout(30)  # were the GIL held, this send would time out, then fail the test

    def drain(done):
        time.sleep(0.2)
        b.settimeout(0.05)
        while not done.is_set():
            try:
                b.recv(1 << 20)
            except TimeoutError:
                pass

    def send():
        assert a.send_message(b"waited", creds=True) == 6

    with a, b:
        assert ticks_while(send, drain) > 20  # the ticker ran while send_message waited


def test_signal_handler_exception_interrupts_blocking_recv():
    a, b = unixsock.pair()

    class Stop(Exception):
        pass

    def handler(sig, frame):
        raise Stop()

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    try:
        with pytest.raises(Stop):
            b.recv(10)  # blocks forever without the interrupt hook
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        a.close()
        b.close()


def test_signal_handler_that_returns_lets_recv_continue():
    a, b = unixsock.pair()
    calls = []
    old = signal.signal(signal.SIGALRM, lambda s, f: calls.append(s))
    signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
    threading.Timer(0.3, lambda: a.send(b"done")).start()
    try:
        assert b.recv(10) == b"done"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        a.close()
        b.close()
    assert len(calls) > 5


def test_sendto_and_recvfrom(abstract):
    addr = abstract()
    with unixsock.bind(addr) as srv, unixsock.bind("") as cli:
        assert cli.sendto(b"g1", addr) == 2
        data, sender = srv.recvfrom(100)
        assert data == b"g1" and sender == cli.local_address
        srv.sendto(b"Hi, " + data, sender)
        assert cli.recvfrom(100) == (b"Hi, g1", addr)


def test_accept_timeout(abstract):
    with unixsock.listen(abstract(), "seqpacket") as l:
        l.settimeout(0.05)
        with pytest.raises(TimeoutError):
            l.accept()
        l.settimeout(0)
        with pytest.raises(BlockingIOError):
            l.accept()


def test_connect_to_full_backlog_times_out(abstract):
    addr = abstract()
    clients = []
    with unixsock.listen(addr, backlog=1):
        try:
            with pytest.raises(TimeoutError):
                for _ in range(8):
                    clients.append(unixsock.connect(addr, timeout=0.1))
        finally:
            for c in clients:
                c.close()


def test_shutdown_write_gives_the_peer_end_of_stream():
    a, b = unixsock.pair()
    with a, b:
        a.send(b"last")
        a.shutdown("w")
        assert b.recv(10) == b"last"
        assert b.recv(10) == b""
        b.send(b"back")
        assert a.recv(10) == b"back"


@pytest.mark.parametrize("how, peer_reads_end, reads_end", [
    # socket's constants, as code moved from socket.socket passes them: they were
    # ValueError ("how must be 'r', 'w' or 'rw', not 1")
    (socket.SHUT_WR, True, False), (socket.SHUT_RD, False, True), (socket.SHUT_RDWR, True, True),
    ("w", True, False), ("r", False, True), ("rw", True, True),
])
def test_shutdown_takes_socket_constants_as_well(how, peer_reads_end, reads_end):
    a, b = unixsock.pair()
    with a, b:
        a.shutdown(how)
        assert (b.try_recv(10) == b"") == peer_reads_end  # None: still open, nothing yet
        assert (a.try_recv(10) == b"") == reads_end


@pytest.mark.parametrize("how", [5, True, "write", None])
def test_shutdown_refuses_what_names_no_direction(how):
    a, b = unixsock.pair()
    with a, b:
        with pytest.raises(ValueError) as e:
            a.shutdown(how)
        assert str(e.value) == f"how must be 'r', 'w', 'rw' or socket.SHUT_RD, SHUT_WR, SHUT_RDWR, not {how!r}"
        a.send(b"open")  # nothing was shut
        assert b.recv(10) == b"open"


@pytest.mark.parametrize("kind", ["stream", "dgram", "seqpacket"])
def test_shutdown_read_wakes_a_recv_blocked_in_another_thread(kind):
    # what docs/python.md tells a program to do, since close() does not wake it
    a, b = unixsock.pair(kind)
    with a, b:
        got = []
        t = threading.Thread(target=lambda: got.append(a.recv(10)), daemon=True)
        t.start()
        time.sleep(0.1)  # into the kernel's wait (if not yet, the recv sees the shutdown at once)
        a.shutdown("r")
        t.join(10)
        assert not t.is_alive() and got == [b""]


@pytest.mark.parametrize("kind", ["stream", "dgram", "seqpacket"])
@pytest.mark.parametrize("call, end", [
    (lambda s: s.recv_message(), None), (lambda s: s.recv_batch(4, 100), []),
], ids=["recv_message", "recv_batch"])
def test_shutdown_read_ends_a_message_loop_in_another_thread(kind, call, end):
    # `while (m := s.recv_message()) is not None` must end: on dgram it was given
    # an empty message, again and again, and spun
    a, b = unixsock.pair(kind)
    with a, b:
        got = []
        t = threading.Thread(target=lambda: got.extend([call(a), call(a)]), daemon=True)
        t.start()
        time.sleep(0.1)  # into the kernel's wait (if not yet, it sees the shutdown at once)
        a.shutdown("r")
        t.join(10)
        assert not t.is_alive() and got == [end, end]


def test_shutdown_read_ends_an_accept_waiting_in_another_thread(abstract):
    # a threaded server's way to stop its accept loop (close() does not wake it)
    with unixsock.listen(abstract()) as l:
        l.settimeout(10)  # before: woken, the accept spun until then
        got = []

        def accept():
            try:
                got.append(l.accept())
            except OSError as e:
                got.append(e)

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        time.sleep(0.1)  # into its wait (if not yet, it sees the shutdown at once)
        l.shutdown("r")
        t.join(5)
        assert not t.is_alive()
        assert isinstance(got[0], OSError) and got[0].errno == errno.EINVAL
        l.settimeout(0)  # never BlockingIOError, which would make a loop spin
        with pytest.raises(OSError) as e:
            l.accept()
        assert e.value.errno == errno.EINVAL


SENDS_TO = {
    "sendto": lambda s, a: s.sendto(b"next", a),
    "send_message": lambda s, a: s.send_message(b"next", address=a),
    "send_batch": lambda s, a: s.send_batch([(b"next", [], False, a)]),
    "send_batch of a Message": lambda s, a: s.send_batch([unixsock.Message(b"next", address=a)]),
}


@pytest.mark.parametrize("how", SENDS_TO)
def test_a_datagram_to_a_full_receiver_waits_without_spinning(full_receiver, how):
    # the sender's poll() says writable whatever the receiver's queue holds: the
    # send used to spin in poll and sendto, at full CPU, until the receiver read
    rx, tx, address = full_receiver
    tx.settimeout(5)
    threading.Timer(0.3, rx.recv, (10,)).start()
    cpu = time.thread_time()
    assert SENDS_TO[how](tx, address) in (1, 4)  # sent once the receiver made room
    assert time.thread_time() - cpu < 0.1  # spinning, it took all 0.3 s


@pytest.mark.parametrize("call, error, text", [
    (lambda s: s.settimeout("1"), TypeError, "timeout must be None or a number of seconds, not str"),
    (lambda s: s.settimeout(float("nan")), ValueError, "timeout must be None or >= 0, not nan"),
    (lambda s: s.settimeout(-0.5), ValueError, "timeout must be None or >= 0, not -0.5"),
    (lambda s: s.recv("10"), TypeError, "'str' object cannot be interpreted as an integer"),
    (lambda s: s.recv_message(1.5), TypeError, "'float' object cannot be interpreted as an integer"),
    (lambda s: s.send_batch([b"ok", 1]), TypeError, "send_batch: item 1 must be bytes-like"),
])
def test_bad_arguments_say_what_was_expected(call, error, text):
    a, b = unixsock.pair()
    with a, b:
        with pytest.raises(error) as e:
            call(a)
        assert text in str(e.value)
        a.send(b"still fine")  # nothing was half done
        assert b.recv(100) == b"still fine"


@pytest.mark.parametrize("call, text", [
    # SWIG's wrappers named themselves and counted the handle: "us_recv expected
    # 2 arguments, got 3" for socket's recv(size, flags)
    (lambda s: s.recv(10, socket.MSG_PEEK), "recv() takes exactly one argument (size), 2 given: unixsock takes no flags"),
    (lambda s: s.recv(), "recv() takes exactly one argument (size), 0 given"),
    (lambda s: s.try_recv(), "try_recv() takes exactly one argument (size), 0 given"),
    (lambda s: s.send(b"x", 0), "send() takes exactly one argument (data), 2 given: unixsock takes no flags"),
    (lambda s: s.send(), "send() takes exactly one argument (data), 0 given"),
    (lambda s: s.recv_into(bytearray(4), 4, 0), "recv_into() takes one or two arguments (buffer, nbytes), 3 given: unixsock takes no flags"),
    (lambda s: s.recv_into(), "recv_into() takes one or two arguments (buffer, nbytes), 0 given"),
    (lambda s: s.recv(bufsize=10), "recv() takes no keyword arguments"),
    (lambda s: s.send(data=b"x"), "send() takes no keyword arguments"),
    # socket's sendto(data, flags, address): "Socket.sendto() takes 3 positional
    # arguments but 4 were given"
    (lambda s: s.sendto(b"x", 0, "@x"), "sendto() takes exactly two arguments (data, address), 3 given: unixsock takes no flags"),
    (lambda s: s.recvfrom(10, 0), "recvfrom() takes exactly one argument (size), 2 given: unixsock takes no flags"),
])
def test_a_call_with_the_wrong_arguments_is_told_in_the_methods_own_words(call, text):
    a, b = unixsock.pair("seqpacket")
    with a, b:
        a.send(b"kept")
        with pytest.raises(TypeError) as e:
            call(b)
        assert str(e.value) == text
        assert b.recv(10) == b"kept"  # nothing was read, or sent
        assert b.try_recv(10) is None


@pytest.mark.parametrize("kind", ["stream", "dgram", "seqpacket"])
@pytest.mark.parametrize("timeout", [None, 20, 0])
def test_try_recv_never_waits_and_returns_none_when_empty(kind, timeout):
    a, b = unixsock.pair(kind)
    with a, b:
        b.settimeout(timeout)
        t0 = time.monotonic()
        assert b.try_recv(10) is None
        assert time.monotonic() - t0 < 10  # (a wait would be 20 s, or forever)
        assert b.gettimeout() == timeout  # the socket's own timeout is untouched
        a.send(b"abc")
        assert b.try_recv(10) == b"abc"
        if kind != "stream":
            a.send(b"too long")
            with pytest.raises(OSError) as e:
                b.try_recv(3)
            assert e.value.errno == errno.EMSGSIZE
        if kind != "dgram":
            a.close()
            assert b.try_recv(10) == b""  # end of stream, not None


@pytest.mark.parametrize("timeout", [None, 0, 0.25, 3600])
def test_gettimeout_reports_what_settimeout_set(timeout):
    a, b = unixsock.pair()
    with a, b:
        assert a.gettimeout() is None  # a new socket blocks
        a.settimeout(timeout)
        assert a.gettimeout() == timeout


def test_setblocking_and_getblocking_are_socket_s():
    a, b = unixsock.pair()
    s1, s2 = socket.socketpair()
    with a, b, s1, s2:
        for sock in (a, s1):
            assert sock.getblocking() is True
            sock.setblocking(False)
            assert (sock.gettimeout(), sock.getblocking()) == (0.0, False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
            sock.settimeout(0.25)
            assert sock.getblocking() is True  # a timeout still blocks, for that long
            sock.setblocking(True)
            assert (sock.gettimeout(), sock.getblocking()) == (None, True)


def test_sendall_writes_everything_as_send_does():
    a, b = unixsock.pair()
    with a, b:
        a.send_buffer = 4096
        data = bytes(range(256)) * 4096  # 1 MiB, far more than the buffer holds
        reader = threading.Thread(target=lambda: got.append(b"".join(iter(lambda: b.recv(65536), b""))))
        got = []
        reader.start()
        assert a.sendall(data) == len(data)
        a.shutdown("w")
        reader.join(10)
        assert got == [data]


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_destination_address_on_stream_or_seqpacket_is_eisconn(kind):
    # on seqpacket the kernel ignores it: the message would go to the peer
    a, b = unixsock.pair(kind)
    with a, b:
        for call in (lambda: a.sendto(b"x", "@elsewhere"),
                     lambda: a.send_message(b"x", address="@elsewhere")):
            with pytest.raises(OSError) as e:
                call()
            assert e.value.errno == errno.EISCONN and e.value.filename == "@elsewhere"
        assert b.try_recv(10) is None  # nothing was sent


def test_send_message_names_its_destination_when_it_fails(tmp_path):
    with unixsock.bind("") as d:
        missing = str(tmp_path / "nobody.sock")
        with pytest.raises(FileNotFoundError) as e:
            d.send_message(b"x", address=missing)
        assert e.value.filename == missing


def test_a_calls_error_names_the_socket_by_its_address(tmp_path, monkeypatch):
    # as connect's does: a server with many clients must see which one failed
    monkeypatch.chdir(tmp_path)
    with unixsock.listen("app.sock") as l, unixsock.connect("app.sock") as c:
        conn = l.accept()
        with conn:
            c.close()
            with pytest.raises(BrokenPipeError) as e:
                conn.send(b"x")  # an accepted connection: its listener's address
            assert (e.value.filename, e.value.__notes__) == ("app.sock", [
                "in unixsock.send", "the peer closed its end, or shut down its reading: nothing more reaches it"])
            with pytest.raises(BrokenPipeError) as e:
                conn.send_message(b"x")
            assert e.value.filename == "app.sock"
        l.settimeout(0)
        with pytest.raises(BlockingIOError) as e:
            l.accept()  # a poller's empty try names nothing: it costs no lookup
        assert e.value.filename is None
        l.shutdown("r")
        with pytest.raises(OSError) as e:
            l.accept()
        assert (e.value.errno, e.value.filename) == (errno.EINVAL, "app.sock")


@pytest.mark.parametrize("kind", ["stream", "seqpacket", "dgram"])
def test_a_timeout_names_the_address_the_socket_was_made_with(kind, tmp_path):
    p = str(tmp_path / "srv.sock")
    make = unixsock.bind if kind == "dgram" else unixsock.listen
    with make(p, kind=kind) as srv, unixsock.connect(p, kind=kind) as c:
        c.settimeout(0.01)
        for call in (lambda: c.recv(10), lambda: c.recv_message(), lambda: c.recv_batch(count=2)):
            with pytest.raises(TimeoutError) as e:
                call()
            assert e.value.filename == p
        if kind == "dgram":
            srv.settimeout(0.01)
            with pytest.raises(TimeoutError) as e:
                srv.recvfrom(10)
            assert e.value.filename == p


def test_a_pair_names_nothing():
    a, b = unixsock.pair("seqpacket")
    with a:
        b.close()
        with pytest.raises(BrokenPipeError) as e:
            a.send(b"x")
        assert e.value.filename is None and str(e.value) == "[Errno 32] Broken pipe"


def test_send_batch_names_the_destination_that_failed(tmp_path):
    missing = str(tmp_path / "nobody.sock")
    with unixsock.bind("") as d:
        with pytest.raises(FileNotFoundError) as e:
            d.send_batch([(b"x", [], False, missing)])
        assert (e.value.filename, e.value.__notes__) == (missing, ["in unixsock.send_batch"])
        too_long = "@" + "z" * 200
        with pytest.raises(OSError) as e:
            d.send_batch([b"never sent", (b"x", [], False, too_long)])
        assert (e.value.errno, e.value.filename) == (errno.ENAMETOOLONG, too_long)


def test_errname_is_the_symbolic_name_the_core_gives():
    assert [unixsock.errname(e) for e in (errno.ENOENT, errno.EPIPE, errno.EAGAIN)] == ["ENOENT", "EPIPE", "EAGAIN"]
    assert unixsock.errname(-errno.EPIPE) == "EPIPE"  # as the C API returns it
    assert unixsock.errname(99999) == "EUNKNOWN"


def test_makefile_reads_lines_and_writes_as_sockets_do():
    # socket's makefile was missing: code moved from socket (a line protocol,
    # socketserver's handlers) met an AttributeError
    a, b = unixsock.pair("stream")
    with a, b:
        with a.makefile("w", encoding="utf-8") as out, b.makefile("rb") as lines:
            out.write("g1\nhé\n")
            out.flush()
            assert lines.readline() == b"g1\n"
            assert lines.readline() == "hé\n".encode()
            a.shutdown("w")
            assert lines.readline() == b""  # end of stream
        assert not a.closed and not b.closed  # a file's close leaves the socket open
        with b.makefile("rwb", buffering=0) as raw:
            raw.write(b"x")
            assert a.recv(1) == b"x"
        with pytest.raises(ValueError, match=re.escape("invalid mode 'rt+' (only r, w, b allowed)")):
            a.makefile("rt+")
        with pytest.raises(ValueError, match="unbuffered streams must be binary"):
            a.makefile("r", buffering=0)
    with pytest.raises(OSError) as e:  # the socket closed: its file fails as a call on it does
        lines = b.makefile("rb")
        lines.read(1)
    assert e.value.errno == errno.EBADF
