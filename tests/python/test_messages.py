"""Messages through Python: payloads, fds proved by content, credentials,
batches, no fd leaks, interop with the standard socket module."""
import array
import copy
import errno
import os
import pickle
import socket
import time

import pytest

import unixsock
from conftest import raw_socket

KINDS = ["stream", "dgram", "seqpacket"]


@pytest.mark.parametrize("kind", KINDS)
def test_message_roundtrip(kind):
    a, b = unixsock.pair(kind)
    with a, b:
        for data in (b"hello", b"", bytearray(b"x" * 1000)):
            assert a.send_message(data) == len(data)
            with b.recv_message() as m:
                assert m.data == bytes(data)
                assert m.fds == ()


@pytest.mark.parametrize("kind", KINDS)
def test_passed_fd_is_proved_by_content(kind):
    a, b = unixsock.pair(kind)
    r, w = os.pipe()
    with a, b:
        os.write(w, b"before ")
        a.send_message(b"take this", [r])
        os.close(r)
        os.write(w, b"after")
        os.close(w)
        with b.recv_message() as m:
            assert m.data == b"take this"
            assert len(m.fds) == 1
            assert os.read(m.fds[0], 100) == b"before after"
            assert os.get_inheritable(m.fds[0]) is False  # close-on-exec


def test_fds_accept_objects_with_fileno(tmp_path):
    a, b = unixsock.pair("seqpacket")
    f = open(tmp_path / "f.txt", "w+b")
    f.write(b"file content")
    f.flush()
    with a, b, f:
        a.send_message(b"file", [f])
        with b.recv_message() as m:
            fd = m.take_fd()
        with os.fdopen(fd, "rb") as g:
            g.seek(0)
            assert g.read() == b"file content"


def test_untaken_fds_are_closed_with_the_message():
    import gc

    a, b = unixsock.pair("seqpacket")
    with a, b:
        before = len(os.listdir("/proc/self/fd"))
        a.send_message(b"x", [0, 1, 2])
        m = b.recv_message()
        assert len(m.fds) == 3
        assert len(os.listdir("/proc/self/fd")) == before + 3
        del m
        gc.collect()
        assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy, pickle.dumps])
def test_a_message_or_socket_is_never_copied(how):
    # copy.copy(message) shared its fd list: both copies closed the same numbers,
    # the second time closing whatever descriptor had taken the number since
    a, b = unixsock.pair("seqpacket")
    with a, b:
        r, w = os.pipe()
        a.send_message(b"m", [r])
        os.close(r)
        with b.recv_message() as m:
            with pytest.raises(TypeError, match="cannot pickle or copy 'Message' object"):
                how(m)
            fd = m.fds[0]
        with pytest.raises(OSError):
            os.fstat(fd)  # closed once, with the message
        os.close(w)
        with pytest.raises(TypeError, match="cannot pickle or copy 'Socket' object"):
            how(a)
        a.send(b"still open")
        assert b.recv(20) == b"still open"


def test_254_fds_is_e2big_before_sending():
    assert unixsock.MAX_FDS == 253  # the core's UNIXSOCK_MAX_FDS
    a, b = unixsock.pair("dgram")
    with a, b:
        with pytest.raises(OSError) as e:
            a.send_message(b"x", [0] * (unixsock.MAX_FDS + 1))
        assert e.value.errno == errno.E2BIG
        # "Argument list too long" left the limit unsaid
        assert str(e.value) == "[Errno 7] More than 253 descriptors in one message"
        assert e.value.__notes__ == ["in unixsock.send_message"]
        b.settimeout(0)
        with pytest.raises(BlockingIOError):
            b.recv(10)
        a.send_message(b"x", [0] * 253)
        with b.recv_message() as m:
            assert len(m.fds) == 253


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [2, 10, 253])
def test_no_room_for_fds_closes_them_all(kind, n):
    a, b = unixsock.pair(kind)
    with a, b:
        a.send_message(b"x", [0] * n)
        before = len(os.listdir("/proc/self/fd"))
        with pytest.raises(OSError) as e:
            b.recv_message(max_fds=n - 1)
        assert e.value.errno == errno.ENOBUFS
        assert len(os.listdir("/proc/self/fd")) == before
        # "No buffer space available" alone read as memory
        dropped = ("the stream is shut down for reading (a frame is delivered whole or not at all)"
                   if kind == "stream" else "the message was dropped")
        assert e.value.__notes__[1] == (f"{n} descriptors came with a message, more than max_fds ({n - 1}) allows: "
                                        f"they were closed, and {dropped}")


@pytest.mark.parametrize("kind", KINDS)
def test_max_fds_0_accepts_none(kind):
    a, b = unixsock.pair(kind)
    with a, b:
        a.send_message(b"plain")
        with b.recv_message(max_fds=0) as m:
            assert m.data == b"plain" and m.fds == ()
        a.send_message(b"x", [0])
        before = len(os.listdir("/proc/self/fd"))
        with pytest.raises(OSError) as e:
            b.recv_message(max_fds=0)
        assert e.value.errno == errno.ENOBUFS
        assert len(os.listdir("/proc/self/fd")) == before
        with pytest.raises(OSError, match="max_fds must be >= 0") as e:
            b.recv_message(max_fds=-1)
        assert e.value.errno == errno.EINVAL


def test_recv_batch_max_fds_0_accepts_none():
    a, b = unixsock.pair("seqpacket")
    with a, b:
        a.send_batch([b"plain", (b"x", [0])])
        before = len(os.listdir("/proc/self/fd"))
        first, second = b.recv_batch(count=2, size=16, max_fds=0)
        assert first.data == b"plain" and not first.truncated
        assert second.fds == () and second.truncated  # its fd did not fit: closed
        assert repr(second).endswith(", truncated=True)") and "truncated" not in repr(first)
        assert len(os.listdir("/proc/self/fd")) == before
        with pytest.raises(OSError, match="max_fds must be >= 0") as e:
            b.recv_batch(max_fds=-1)
        assert e.value.errno == errno.EINVAL


@pytest.mark.parametrize("args, text", [
    ({"count": 0}, "count must be 1..1024"),
    ({"count": 1025}, "count must be 1..1024"),
    ({"size": -1}, "size must be 0..67108864"),
    ({"size": 2**26 + 1}, "size must be 0..67108864"),
    # count * size wrapped to a 1-byte buffer that recvmmsg overran (the process aborted)
    ({"count": 4, "size": 2**62}, "size must be 0..67108864"),
])
def test_recv_batch_bad_arguments_say_which(args, text):
    a, b = unixsock.pair("seqpacket")
    with a, b:
        a.send(b"x" * 1100)  # something to receive, if the arguments got through
        with pytest.raises(OSError, match=text) as e:
            b.recv_batch(**args)
        assert e.value.errno == errno.EINVAL


@pytest.mark.parametrize("kind", KINDS)
def test_credentials(kind):
    a, b = unixsock.pair(kind)
    with a, b:
        a.send_message(b"who", creds=True)
        with b.recv_message() as m:
            assert m.creds == unixsock.Credentials(os.getpid(), os.geteuid(), os.getegid())


@pytest.mark.parametrize("flag, sent", [(None, False), ("", False), (0, False), ("yes", True), ([1], True)])
def test_creds_flag_is_taken_by_truth_as_in_send_batch(flag, sent):
    # send_message took an int (None was a TypeError) where send_batch took any truth value
    a, b = unixsock.pair("seqpacket")  # fresh: credentials arrive only where they were sent
    with a, b:
        a.send_message(b"who", creds=flag)
        with b.recv_message() as m:
            mine = unixsock.Credentials(os.getpid(), os.geteuid(), os.getegid())
            assert m.creds == (mine if sent else None)


def _plain(kind, bind_to=None):
    # a peer nobody here wrote, which attaches nothing and has no SO_PASSCRED
    s = raw_socket(kind)
    if bind_to is not None:
        s.bind("\0" + bind_to[1:])
    return s


def test_a_server_gets_the_kernels_credentials_on_messages_sent_before_it_asked(abstract):
    # the kernel adds them only while the receiver has SO_PASSCRED on, which a
    # server turned on at its first recv_message: these came with creds=None
    mine = unixsock.Credentials(os.getpid(), os.getuid(), os.getgid())

    def received(sock, want):
        with sock.recv_message() as m:
            assert (m.data, m.creds) == (want, mine)

    d = abstract("dgram")
    with unixsock.bind(d) as srv, _plain("dgram") as peer:
        peer.sendto(b"early", "\0" + d[1:])
        received(srv, b"early")
    with _plain("dgram", bind_to=d) as peer, unixsock.connect(d, "dgram") as cli:
        peer.sendto(b"reply", "\0" + cli.local_address[1:])
        received(cli, b"reply")  # a dgram client is answered so too
    q = abstract("seqpacket")
    with unixsock.listen(q, "seqpacket") as l, _plain("seqpacket") as peer:
        peer.connect("\0" + q[1:])
        peer.send(b"before accept")
        with l.accept() as conn:
            peer.send(b"after accept")
            received(conn, b"before accept")
            received(conn, b"after accept")
        with unixsock.connect(q, "seqpacket") as cli:
            cli.send(b"x")
            assert cli.local_address == ""  # a unixsock client is not autobound for it


def test_send_message_arguments_by_position_and_by_keyword():
    a, b = unixsock.pair("seqpacket")
    r, w = os.pipe()
    with a, b:
        a.send_message(data=b"kw", fds=[r])
        a.send_message(b"pos", (r,))
        a.send_message(fds=[r])  # data defaults to empty
        a.send_message(b"none", None)
        for want, nfds in ((b"kw", 1), (b"pos", 1), (b"", 1), (b"none", 0)):
            with b.recv_message() as m:
                assert (m.data, len(m.fds)) == (want, nfds)
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("call, text", [
    (lambda s: s.send_message(b"x", [], True), "at most 2 positional arguments (3 given)"),
    (lambda s: s.send_message(b"x", bogus=1), "unexpected keyword argument 'bogus'"),
    (lambda s: s.send_message(b"x", data=b"y"), "multiple values for argument 'data'"),
    (lambda s: s.send_message("text"), "data must be bytes-like, not str"),
    (lambda s: s.send_message(b"x", [object()]), "fileno"),
    # CPython's message named neither the list nor the item
    (lambda s: s.send_message(b"x", [0, "a"]), "fds[1] is str, not a descriptor (an int or an object with fileno())"),
    (lambda s: s.send_message(b"x", 5), "fds must be a sequence of descriptors, not int (one alone: [fd])"),
    (lambda s: s.send_message(b"x", "ab"), "fds must be a sequence of descriptors, not str"),
    (lambda s: s.send_message(b"x", address=0), "an address is str, bytes or os.PathLike, not int"),
])
def test_send_message_bad_arguments_are_typeerrors_that_say_which(call, text):
    # creds and address are keyword-only; address=0 was taken as "no address"
    a, b = unixsock.pair("dgram")
    with a, b:
        with pytest.raises(TypeError) as e:
            call(a)
        assert text in str(e.value)
        assert b.try_recv(10) is None  # nothing was sent


def test_an_error_raised_while_fds_are_read_stays_what_it_was():
    def fds():
        yield 0
        raise ValueError("the caller's own")
    a, b = unixsock.pair("seqpacket")
    with a, b:
        with pytest.raises(ValueError, match="the caller's own"):
            a.send_message(b"x", fds())
        assert b.try_recv(10) is None


def test_a_file_given_as_fds_is_refused_without_reading_it(tmp_path):
    # a file object is iterable: it was read to its end, line by line, as a list
    # of descriptors, and then refused ("fds[0] is bytes"), its lines lost
    path = tmp_path / "lines.txt"
    path.write_bytes(b"one\ntwo\n")
    a, b = unixsock.pair("seqpacket")
    with a, b, open(path, "rb") as f:
        for call in (lambda: a.send_message(b"x", f), lambda: a.send_batch([(b"x", f)])):
            with pytest.raises(TypeError) as e:
                call()
            assert "must be a sequence of descriptors, not _io.BufferedReader (one alone: [fd])" in str(e.value)
        assert f.read() == b"one\ntwo\n"
        assert b.try_recv(10) is None


def test_dgram_message_to_address_and_sender_address(abstract):
    addr = abstract()
    with unixsock.bind(addr) as srv, unixsock.bind() as cli:
        cli.send_message(b"to you", address=addr)
        with srv.recv_message() as m:
            assert m.data == b"to you"
            assert m.address == cli.local_address


def test_recv_message_end_of_stream_is_none():
    a, b = unixsock.pair("stream")
    a.close()
    with b:
        assert b.recv_message() is None


def test_oversize_frame_is_emsgsize():
    a, b = unixsock.pair("stream")
    with a, b:
        assert b.max_message == 16 << 20
        b.max_message = 10
        assert b.max_message == 10
        a.send_message(b"x" * 11)
        with pytest.raises(OSError) as e:
            b.recv_message()
        assert e.value.errno == errno.EMSGSIZE


@pytest.mark.parametrize("kind", ["seqpacket", "dgram"])
def test_worker_processes_sharing_a_socket_each_receive_whole_messages(kind):
    # pre-forked workers on one socket: recv_message measured the next packet,
    # then read it, and another process could take it between the two, leaving a
    # longer one to cut (EMSGSIZE: it was lost)
    a, b = unixsock.pair(kind)
    with a, b:
        b.settimeout(30)
        a.settimeout(30)
        r, w = os.pipe()
        kids = []
        for _ in range(2):
            pid = os.fork()
            if pid == 0:  # a worker: what it got, as indexes, or -1 for an error
                status = 0
                try:
                    os.close(r)
                    while True:
                        try:
                            m = b.recv_message()
                        except OSError:
                            os.write(w, (-1).to_bytes(4, "big", signed=True))
                            continue
                        if m.data == b"stop":
                            break
                        i = int.from_bytes(m.data[:4], "big")
                        whole = m.data == i.to_bytes(4, "big") * (250 if i % 2 else 2)
                        os.write(w, (i if whole else -1).to_bytes(4, "big", signed=True))
                except BaseException:
                    status = 1
                finally:
                    os._exit(status)
            kids.append(pid)
        os.close(w)
        for i in range(4000):
            a.send(i.to_bytes(4, "big") * (250 if i % 2 else 2))
            if i % 8 == 7:
                time.sleep(0.00005)  # both workers wait, so one message wakes both
        a.send(b"stop")
        a.send(b"stop")
        with os.fdopen(r, "rb") as results:
            got = results.read()
        for pid in kids:
            assert os.waitpid(pid, 0)[1] == 0
        indexes = [int.from_bytes(got[j:j + 4], "big", signed=True) for j in range(0, len(got), 4)]
        assert sorted(indexes) == list(range(4000))


@pytest.mark.parametrize("kind", ["seqpacket", "dgram"])
@pytest.mark.parametrize("limit", [10, 70000])  # read at once (at most 64 KiB), or measured first
def test_an_oversize_packet_is_emsgsize_dropped_and_the_next_arrives(kind, limit):
    a, b = unixsock.pair(kind)
    with a, b:
        a.send_buffer = 1 << 20
        b.max_message = limit
        r, w = os.pipe()
        try:
            a.send_message(b"x" * (limit + 1), fds=[r])
            os.close(r)
            a.send_message(b"y" * limit)
            with pytest.raises(OSError) as e:
                b.recv_message()
            assert e.value.errno == errno.EMSGSIZE
            with pytest.raises(BrokenPipeError):  # the descriptor it carried was closed
                os.write(w, b"z")
            with b.recv_message() as m:
                assert m.data == b"y" * limit
        finally:
            os.close(w)


def _frame_header(length):
    return length.to_bytes(4, "big") + b"\0\0US"  # docs/wire-format.md


def test_a_message_cut_in_recv_batch_is_not_finished_in_another_batchs_buffer():
    # recv_batch slots are one buffer per thread: a frame cut by the timeout was
    # left pointing into it, so another socket's batch wrote over its start
    a, b = unixsock.pair("stream")
    c, d = unixsock.pair("stream")
    with a, b, c, d:
        a.settimeout(0)
        b.send(_frame_header(6) + b"abc")
        with pytest.raises(BlockingIOError):
            a.recv_batch(1, 16)
        d.send_message(b"ZZZZZZZZ")
        assert [m.data for m in c.recv_batch(1, 16)] == [b"ZZZZZZZZ"]
        b.send(b"def")
        with a.recv_message() as m:
            assert m.data == b"abcdef"


def test_a_frame_longer_than_a_recv_batch_slot_waits_whole_and_says_so():
    # "Message too long" alone: not that the frame was kept, nor its length
    a, b = unixsock.pair("stream")
    with a, b:
        a.send_message(b"x" * 100)
        with pytest.raises(OSError) as e:
            b.recv_batch(4, 10)
        assert e.value.errno == errno.EMSGSIZE
        assert e.value.__notes__[1] == ("the next frame has 100 bytes, more than recv_batch's size lets one "
                                        "message hold: it waits, whole, for a larger size or recv_message")
        with b.recv_message() as m:
            assert m.data == b"x" * 100


def test_a_plain_recv_never_reads_inside_a_message_or_past_a_broken_one():
    a, b = unixsock.pair("stream")
    with a, b:
        a.settimeout(0)
        b.send(_frame_header(4) + b"wx")
        with pytest.raises(BlockingIOError):
            a.recv_message()
        for call in (lambda: a.recv(16), a.detach):
            with pytest.raises(OSError) as busy:
                call()
            assert busy.value.errno == errno.EBUSY
        b.send(b"yz" + _frame_header(1)[:6] + b"XX" + b"queued")  # a bad magic next
        with a.recv_message() as m:
            assert m.data == b"wxyz"
        with pytest.raises(OSError) as bad:
            a.recv_message()
        assert bad.value.errno == errno.EBADMSG
        with pytest.raises(OSError) as again:
            a.recv(16)  # was b"queued": bytes that are the start of nothing
        assert again.value.errno == errno.EBADMSG


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_a_closed_fd_in_a_message_is_named(kind):
    # the kernel's EBADF read as if the socket were closed
    a, b = unixsock.pair(kind)
    r, w = os.pipe()
    closed = os.dup(r)
    os.close(closed)  # (after the pair, which would have taken its number)
    with a, b:
        with pytest.raises(OSError) as e:
            a.send_message(b"x", [r, closed, w])
        assert e.value.errno == errno.EBADF
        assert e.value.__notes__ == ["in unixsock.send_message",
                                     f"fds[1] ({closed}) is not an open descriptor"]
        with pytest.raises(OSError) as e:
            a.send_batch([(b"x", [r, w, closed])])
        assert e.value.errno == errno.EBADF
        assert e.value.__notes__ == ["in unixsock.send_batch",
                                     f"item 0's fds[2] ({closed}) is not an open descriptor"]
        b.close()
        with pytest.raises(OSError) as e:  # a closed socket: no fd to blame
            b.send_message(b"x", [r])
        assert e.value.__notes__ == ["in unixsock.send_message"]
    os.close(r)
    os.close(w)

PLAIN = "(a peer that sends plain bytes, not frames?)"


@pytest.mark.parametrize("sent, error, note", [
    (b"hello there\n", errno.EBADMSG, f'not a unixsock frame header: "hello th" {PLAIN}'),
    (b"hey", errno.ECONNRESET, f'the stream ended 3 bytes into a frame header: "hey" {PLAIN}'),
])
@pytest.mark.parametrize("call", ["recv_message", "recv_batch"])
def test_plain_bytes_on_a_stream_of_messages_say_what_came(sent, error, note, call):
    # socat's "hey" was "Connection reset by peer" alone, and its text "Bad message"
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with unixsock.adopt(ours.detach()) as a, theirs:
        theirs.sendall(sent)
        theirs.shutdown(socket.SHUT_WR)
        a.settimeout(5)
        with pytest.raises(OSError) as e:
            getattr(a, call)()
        assert e.value.errno == error
        assert e.value.__notes__ == [f"in unixsock.{call}", note]
        with pytest.raises(OSError) as again:  # and so does every read after it
            a.recv(16)
        assert again.value.__notes__ == ["in unixsock.recv", note]

@pytest.mark.parametrize("attr, value, why", [
    # max_message = -1 was "in method 'us_set_max_message', argument 2 of type
    # 'unsigned long long'"; the others a bare "Invalid argument"
    ("max_message", -1, "max_message must be 1 to 2147483647"),
    ("max_message", 0, "max_message must be 1 to 2147483647"),
    ("max_message", 2**31, "max_message must be 1 to 2147483647"),
    ("send_buffer", -1, "send_buffer must be >= 0"),
    ("recv_buffer", -1, "recv_buffer must be >= 0"),
])
def test_bad_socket_setting_is_einval_naming_it(attr, value, why):
    a, b = unixsock.pair("stream")
    with a, b:
        before = getattr(a, attr)
        with pytest.raises(OSError) as e:
            setattr(a, attr, value)
        assert (e.value.errno, e.value.strerror) == (errno.EINVAL, why)
        assert getattr(a, attr) == before


@pytest.mark.parametrize("kind", KINDS)
def test_batch_roundtrip(kind):
    a, b = unixsock.pair(kind)
    with a, b:
        msgs = [f"message {i}".encode() for i in range(50)]
        assert a.send_batch(msgs) == 50
        got = []
        while len(got) < 50:
            batch = b.recv_batch(64, 100)
            assert batch
            got += [m.data for m in batch]
        assert got == msgs


@pytest.mark.parametrize("kind", ["seqpacket", "stream"])
def test_recv_batch_returns_every_waiting_message_up_to_count(kind):
    # the default count of 64 came back 32 at a time on seqpacket
    a, b = unixsock.pair(kind)
    with a, b:
        assert a.send_batch([(b"m%d" % i, [0] if i % 2 else []) for i in range(64)]) == 64
        got = b.recv_batch()
        assert [m.data for m in got] == [b"m%d" % i for i in range(64)]
        assert [len(m.fds) for m in got] == [i % 2 for i in range(64)]
        for m in got:
            m.close()


def test_batch_with_fds_and_creds():
    a, b = unixsock.pair("stream")
    r, w = os.pipe()
    os.write(w, b"piped")
    with a, b:
        a.send_batch([b"plain", (b"fd", [r]), (b"creds", (), True)])
        os.close(r)
        os.close(w)
        got = []
        while len(got) < 3:
            got += b.recv_batch()
        assert [m.data for m in got] == [b"plain", b"fd", b"creds"]
        assert os.read(got[1].fds[0], 10) == b"piped"
        assert got[2].creds.pid == os.getpid()
        for m in got:
            m.close()


def test_batch_flags_truncated_datagrams():
    a, b = unixsock.pair("dgram")
    with a, b:
        a.send(b"0123456789")
        [m] = b.recv_batch(4, 4)
        assert m.truncated and m.data == b"0123"


# socket.send_fds and recv_fds are Python 3.9's; unixsock supports 3.8
needs_socket_fds = pytest.mark.skipif(not hasattr(socket, "send_fds"),
                                      reason="socket.send_fds is new in Python 3.9")


@needs_socket_fds
def test_python_socket_send_fds_reaches_recv_message():
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    b = unixsock.adopt(y.detach())
    r, w = os.pipe()
    with x, b:
        socket.send_fds(x, [b"from stdlib"], [r])
        os.close(r)
        os.write(w, b"stdlib pipe")
        os.close(w)
        with b.recv_message() as m:
            assert m.data == b"from stdlib"
            assert os.read(m.fds[0], 100) == b"stdlib pipe"


@needs_socket_fds
def test_send_message_reaches_python_socket_recv_fds():
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a = unixsock.adopt(x.detach())
    r, w = os.pipe()
    with a, y:
        a.send_message(b"to stdlib", [r])
        os.close(r)
        os.write(w, b"ours")
        os.close(w)
        data, fds, flags, addr = socket.recv_fds(y, 100, 10)
        assert data == b"to stdlib"
        assert os.read(fds[0], 10) == b"ours"
        for fd in fds:
            os.close(fd)


def test_send_batch_takes_bytes_tuples_and_received_messages():
    a, b = unixsock.pair("seqpacket")
    r, w = os.pipe()
    os.write(w, b"relayed")
    os.close(w)
    with a, b:
        a.send_message(b"to relay", [r], creds=True)
        os.close(r)
        with b.recv_message() as m:
            assert b.send_batch([m, b"plain", (b"tuple", [])]) == 3
        got = []
        while len(got) < 3:
            got += a.recv_batch()
        assert [g.data for g in got] == [b"to relay", b"plain", b"tuple"]
        assert os.read(got[0].fds[0], 10) == b"relayed"  # the fd went on with it
        assert got[0].creds.pid == os.getpid()
        for g in got:
            g.close()
        with pytest.raises(TypeError):
            a.send_batch(["text"])


@pytest.mark.parametrize("messages, text", [
    (["ok", "text"], "send_batch: item 0 must be bytes-like, not str"),
    ([b"ok", (u"text", [])], "send_batch: item 1's data must be bytes-like, not str"),
    # CPython's "argument must be an int, or have a fileno() method." named neither
    ([b"ok", (b"x", [0, None])], "send_batch: item 1's fds[1] is NoneType, not a descriptor (an int or an object with fileno())"),
    # "fds must be a sequence of ints" named neither the item nor what came
    ([b"ok", (b"x", 5)], "send_batch: item 1's fds must be a sequence of descriptors, not int (one alone: [fd])"),
    (b"one message", "send_batch takes a list of messages, not one bytes object (wrap it: [data])"),
    ("one message", "send_batch takes a list of messages, not one str object (wrap it: [data])"),
    (5, "send_batch takes a list of messages, not int"),
])
def test_send_batch_says_which_item_is_wrong(messages, text):
    # "data must be bytes-like, not str" named no item; one bytes object was
    # taken as a list of ints ("item 0 ... not int")
    a, b = unixsock.pair("seqpacket")
    with a, b:
        with pytest.raises(TypeError) as e:
            a.send_batch(messages)
        assert str(e.value) == text
        b.settimeout(0)
        assert b.try_recv(10) is None  # nothing went


@pytest.mark.parametrize("form", [str, os.fsencode, lambda a: bytearray(os.fsencode(a))])
def test_send_batch_addresses_take_every_form_send_message_takes(abstract, form):
    # a str address in a batch item was a TypeError ("expected bytes, str found")
    addr = abstract()
    with unixsock.bind(addr) as d, unixsock.bind() as c:
        assert c.send_batch([(b"one", [], False, form(addr)), (b"two", None, False, form(addr))]) == 2
        assert [d.recv(10), d.recv(10)] == [b"one", b"two"]
        with pytest.raises(TypeError, match="an address is str, bytes or os.PathLike, not int"):
            c.send_batch([(b"x", [], False, 5)])


def test_send_batch_stops_at_a_message_it_cannot_send_and_the_next_call_says_why(abstract):
    # the bad address took the whole batch down with it, the good first message unsent
    addr = abstract()
    with unixsock.bind(addr) as d, unixsock.bind() as c:
        batch = [(b"m0", [], False, addr), (b"m1", [], False, "@" + "z" * 111), (b"m2", [], False, addr)]
        assert c.send_batch(batch) == 1
        with pytest.raises(OSError) as e:
            c.send_batch(batch[1:])
        assert e.value.errno == errno.ENAMETOOLONG
        assert c.send_batch(batch[2:]) == 1
        assert [d.recv(10), d.recv(10)] == [b"m0", b"m2"]


def test_send_batch_with_many_fds_in_some_messages_delivers_each_its_own():
    a, b = unixsock.pair("seqpacket")
    r, w = os.pipe()
    counts = [1, 253, 0, 200, 2]
    with a, b:
        assert a.send_batch([(b"%d" % n, [r] * n) for n in counts]) == len(counts)
        for n in counts:
            with b.recv_message() as m:
                assert m.data == b"%d" % n and len(m.fds) == n
                if n:
                    assert os.fstat(m.fds[-1]).st_ino == os.fstat(r).st_ino
        os.close(r)
        os.close(w)


def test_send_batch_holds_what_a_message_like_object_makes_for_each_access():
    # send_batch let go of data and _fds right after getting them, before reading
    # them: a property's fresh objects were freed first (use after free)
    r, w = os.pipe()

    class Fresh:
        creds = None

        @property
        def data(self):
            return b"p" * 3000 + b"!"

        @property
        def _fds(self):
            return [r]

    a, b = unixsock.pair("seqpacket")
    with a, b:
        assert a.send_batch([Fresh(), Fresh()]) == 2
        for _ in range(2):
            with b.recv_message() as m:
                assert m.data == b"p" * 3000 + b"!" and len(m.fds) == 1
    os.close(r)
    os.close(w)


def test_lists_changed_while_being_read_are_runtimeerrors_not_reads_of_freed_items():
    # a fileno() or a property that empties the list freed the items being read
    r, w = os.pipe()
    a, b = unixsock.pair("seqpacket")

    class Clears:
        def __init__(self, lst):
            self.lst = lst

        def fileno(self):
            self.lst.clear()
            return r

    class Shrinks:
        creds = None
        _fds = []

        def __init__(self, lst):
            self.lst = lst

        @property
        def data(self):
            del self.lst[:]
            return b"gone"

    with a, b:
        fds = []
        fds += [Clears(fds), Clears(fds)]
        with pytest.raises(RuntimeError, match="fds changed size"):
            a.send_message(b"x", fds)
        batch = []
        batch += [Shrinks(batch), b"second"]
        with pytest.raises(RuntimeError, match="messages changed size"):
            a.send_batch(batch)
        assert b.try_recv(10) is None  # nothing was sent
    os.close(r)
    os.close(w)


@pytest.mark.parametrize("item, size", [((b"x",), 1), ((b"x", [], False, None, "extra"), 5)])
def test_send_batch_tuple_of_the_wrong_size_says_which_item_and_what_it_must_be(item, size):
    # it said "function takes at least 2 arguments (1 given)"
    a, b = unixsock.pair("seqpacket")
    with a, b:
        with pytest.raises(TypeError, match=rf"item 1 must be \(data, fds\[, creds\[, address\]\]\), not a {size}-tuple"):
            a.send_batch([b"fine", item])
        assert b.try_recv(10) is None


def test_nonblocking_stream_message_keeps_its_end_for_flush():
    a, b = unixsock.pair("stream")
    with a, b:
        a.settimeout(0)
        b.settimeout(0)
        a.flush()  # nothing kept: nothing to do
        big = os.urandom(1 << 20)
        r, w = os.pipe()
        assert a.send_message(big, [r]) == len(big)  # at once; the rest is kept
        os.close(r)
        os.close(w)
        with pytest.raises(BlockingIOError):
            a.flush()
        with pytest.raises(BlockingIOError):
            a.send(b"zz")  # would land inside the message
        with pytest.raises(OSError) as busy:
            a.detach()
        assert busy.value.errno == errno.EBUSY and not a.closed
        got = None
        for _ in range(100000):
            try:
                a.flush()
            except BlockingIOError:
                pass
            try:
                got = b.recv_message()
                break
            except BlockingIOError:
                continue
        with got:
            assert got.data == big and len(got.fds) == 1
        a.flush()
        a.send_message(b"next")
        b.settimeout(1)
        with b.recv_message() as m:
            assert m.data == b"next"


def test_take_fd_beyond_what_is_left_says_so():
    a, b = unixsock.pair("seqpacket")
    with a, b:
        a.send_message(b"one", [0])
        with b.recv_message() as m:
            os.close(m.take_fd())
            with pytest.raises(IndexError) as e:
                m.take_fd()
            assert "the message has 0 descriptor(s) left" in str(e.value)


def test_datagrams_received_in_a_batch_are_sent_back_to_their_senders_as_they_are(abstract):
    # a Message's address was dropped by send_batch (ENOTCONN on a server), where
    # a tuple's was used, and Lua's send_batch uses a message table's
    name = abstract()
    with unixsock.bind(name) as srv, unixsock.connect(name, "dgram") as one, \
            unixsock.connect(name, "dgram") as two:
        one.send(b"from one")
        two.send(b"from two")
        srv.settimeout(5)
        got = []
        while len(got) < 2:
            got += srv.recv_batch()
        assert srv.send_batch(got) == 2
        one.settimeout(5)
        two.settimeout(5)
        assert (one.recv(100), two.recv(100)) == (b"from one", b"from two")
        with unixsock.bind("") as three:  # and one made here goes where it says
            assert three.send_batch([unixsock.Message(b"made", address=name)]) == 1
            assert srv.recv(100) == b"made"


def test_seqpacket_messages_name_no_sender_and_can_be_sent_on(abstract):
    # the sender of a seqpacket message is always the peer (peer_address()); the
    # kernel's name for it would be a destination that a connected socket refuses
    name = abstract()
    with unixsock.listen(name, "seqpacket") as l, unixsock.connect(name, "seqpacket") as c:
        with l.accept() as conn:
            conn.send_message(b"one")
            conn.send_message(b"two")
            m = c.recv_message()
            assert m.address == ""
            batch = c.recv_batch(count=1)
            assert batch[0].address == ""
            x, y = unixsock.pair("seqpacket")
            with x, y:
                x.send_message(m.data, address=m.address)
                assert x.send_batch(batch) == 1
                assert y.recv(10) == b"one" and y.recv(10) == b"two"


@pytest.mark.parametrize("kind", KINDS)
def test_a_pidfd_the_socket_was_set_to_receive_is_closed_not_leaked(kind):
    # SO_PASSPIDFD turned on elsewhere (a service manager's PassPIDFD=): every
    # message brought the sender's pidfd, which leaked, and beside 253 fds and
    # credentials the message was ENOBUFS
    a, b = unixsock.pair(kind)
    with a, b, socket.socket(fileno=os.dup(b.fileno())) as raw:
        try:
            raw.setsockopt(socket.SOL_SOCKET, 76, 1)  # SO_PASSPIDFD, Linux 6.5
        except OSError as e:
            assert e.errno == errno.ENOPROTOOPT
            return
        r, w = os.pipe()
        before = len(os.listdir("/proc/self/fd"))
        a.send_message(b"most", [r] * unixsock.MAX_FDS, creds=True)
        for _ in range(10):
            a.send_message(b"plain")
        with b.recv_message() as m:
            assert (m.data, len(m.fds), m.creds is not None) == (b"most", unixsock.MAX_FDS, True)
        for _ in range(10):
            with b.recv_message() as m:
                assert m.data == b"plain"
        assert len(os.listdir("/proc/self/fd")) == before
        os.close(r)
        os.close(w)


def test_a_message_keeps_the_protocol_of_the_python_class_it_was():
    # Message became a C type (bindings/message_type.c); every part of what the
    # Python class offered is still there
    import gc

    a, b = unixsock.pair("seqpacket")
    with a, b:
        r, w = os.pipe()
        a.send_message(b"proto", [r, r, w], creds=True)
        m = b.recv_message()
        assert isinstance(m, unixsock.Message)
        assert type(m).__name__ == "Message"
        assert isinstance(m.creds, unixsock.Credentials)
        assert m.creds._fields == ("pid", "uid", "gid")
        assert m.creds._replace(pid=1).pid == 1
        assert m.creds == unixsock.Credentials(os.getpid(), os.geteuid(), os.getegid())
        assert bytes(m) == b"proto"
        assert isinstance(m.fds, tuple) and len(m.fds) == 3
        first, last = m.take_fd(index=0), m.take_fd(-1)
        os.close(first)
        os.close(last)
        with pytest.raises(IndexError, match=r"take_fd\(5\): the message has 1 descriptor"):
            m.take_fd(5)
        with pytest.raises(IndexError, match=r"take_fd\(%d\)" % (1 << 80)):
            m.take_fd(1 << 80)  # out of range, not an OverflowError
        with pytest.raises(TypeError):
            m.take_fd("0")
        # fds as .fds gives them, a tuple (it showed the list kept inside)
        assert repr(m) == (f"Message(b'proto', fds=({m.fds[0]},), creds={m.creds}, "
                           "address='')")
        m.data = b"changed"  # the fields stay writable
        assert m.data == b"changed"
        kept = m.take_fds()
        assert isinstance(kept, list) and len(kept) == 1 and m.fds == ()
        os.close(kept[0])
        del m.data  # read back as missing, as a slot's was
        with pytest.raises(AttributeError):
            m.data
        with pytest.raises(AttributeError):
            repr(m)
        m.close()
        m.close()
        os.close(r)
        os.close(w)

        # made by hand, as send_batch takes it, and collected inside a cycle with
        # its descriptors closed
        # (not fd 0 itself: the message closes what it holds, and a later test's
        # child process then had no stdin)
        spare = os.dup(0)
        made = unixsock.Message(b"hand", fds=(spare,), truncated=True)
        assert (made.data, made.fds, made.creds, made.address, made.truncated) == (b"hand", (spare,), None, "", True)
        assert repr(made).endswith("truncated=True)")
        made.close()
        with pytest.raises(OSError):
            os.fstat(spare)
        r, w = os.pipe()
        cyc = unixsock.Message(b"x", [r])
        cyc.creds = [cyc]
        del cyc
        gc.collect()
        with pytest.raises(OSError):
            os.fstat(r)
        os.close(w)

        class Tagged(unixsock.Message):
            def __init__(self, data, tag):  # arguments of its own
                super().__init__(data)
                self.tag = tag

        t = Tagged(b"sub", tag=7)
        assert (t.data, t.tag, t.fds) == (b"sub", 7, ()) and isinstance(t, unixsock.Message)


@pytest.mark.parametrize("call, error, text", [
    (lambda s: s.recv_message(max_fds=-1), OSError, "max_fds must be >= 0"),
    (lambda s: s.recv_message(1, 2), TypeError, "at most 1 positional argument (2 given)"),
    (lambda s: s.recv_message(limit=1), TypeError, "unexpected keyword argument 'limit'"),
    (lambda s: s.recv_message(1, max_fds=1), TypeError, "multiple values for argument 'max_fds'"),
    (lambda s: s.recv_message("1"), TypeError, None),
])
def test_recv_message_arguments_by_position_and_keyword(call, error, text):
    # recv_message is bound to the handle without a Python frame, as send_message is
    a, b = unixsock.pair("seqpacket")
    with a, b:
        a.send_message(b"one fd", [0])
        b.settimeout(1)
        with pytest.raises(error) as e:
            call(b)
        if text is not None:
            assert text in str(e.value)
        with b.recv_message(max_fds=1) as m:  # nothing was read
            assert m.data == b"one fd" and len(m.fds) == 1
        a.send_message(b"one fd", [0])
        with pytest.raises(OSError) as e:
            b.recv_message(0)  # accepts none: ENOBUFS, the fd closed
        assert e.value.errno == errno.ENOBUFS
        b.close()
        with pytest.raises(OSError) as e:
            b.recv_message()
        assert e.value.errno == errno.EBADF
