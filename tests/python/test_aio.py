"""asyncio: awaitable accept/recv/send and messages with fds."""
import asyncio
import errno
import os
import subprocess
import sys
import time

import pytest

import unixsock
from unixsock import aio


def test_async_echo_with_fd_passing(abstract):
    addr = abstract()

    async def main():
        listener = aio.AsyncSocket(unixsock.listen(addr, "seqpacket"))

        async def server():
            conn = await listener.accept()
            msg = await conn.recv_message()
            with msg:
                data = os.read(msg.fds[0], 100)
            await conn.send_message(b"Hi, " + msg.data + b" " + data)
            conn.close()

        async def client():
            c = await aio.open_connection(addr, "seqpacket")
            r, w = os.pipe()
            os.write(w, b"(via fd)")
            os.close(w)
            await c.send_message(b"g1", [r])
            os.close(r)
            reply = await c.recv_message()
            c.close()
            return reply.data

        _, reply = await asyncio.gather(server(), client())
        listener.close()
        return reply

    assert asyncio.run(main()) == b"Hi, g1 (via fd)"


def test_async_socket_repr_shows_the_sockets(abstract):
    addr = abstract()

    async def main():
        async with aio.AsyncSocket(unixsock.listen(addr, "seqpacket")) as l:
            async with await aio.open_connection(addr, "seqpacket") as c:
                assert repr(c) == f"<unixsock.aio.AsyncSocket seqpacket '' peer={addr!r} fd={c.fileno()}>"
                assert repr(l) == f"<unixsock.aio.AsyncSocket seqpacket {addr!r} fd={l.fileno()}>"
        assert repr(c) == "<unixsock.aio.AsyncSocket closed>"

    asyncio.run(main())


def test_async_stream_send_all_and_recv(abstract):
    a, b = unixsock.pair()

    async def main():
        x, y = aio.AsyncSocket(a), aio.AsyncSocket(b)
        big = os.urandom(1 << 20)

        async def reader():
            got = bytearray()
            while len(got) < len(big):
                got += await y.recv(65536)
            return bytes(got)

        sent, got = await asyncio.gather(x.send(big), reader())
        x.close()
        y.close()
        return sent == len(big) and got == big

    assert asyncio.run(main())


@pytest.mark.parametrize("kind", ["stream", "dgram", "seqpacket"])
def test_async_send_batch_sends_every_message_as_the_reader_drains(kind):
    # AsyncSocket had no send_batch; the socket's own, at timeout 0, sends what fits
    n, payload = 2000, b"m" * 1000
    a, b = unixsock.pair(kind)

    async def main():
        x, y = aio.AsyncSocket(a), aio.AsyncSocket(b)
        with a, b:
            async def reader():
                got = []
                while len(got) < n:
                    got += [m.data for m in await y.recv_batch(64, 4096)]
                return got

            sent, got = await asyncio.gather(x.send_batch([payload] * n), reader())
            return sent, got

    sent, got = asyncio.run(main())
    assert sent == n and got == [payload] * n


def test_async_recv_batch_takes_max_fds_as_the_socket_does():
    # it had no max_fds: descriptors a caller wanted refused were taken
    a, b = unixsock.pair("seqpacket")

    async def main():
        with a, b, open(__file__) as f:
            a.send_message(b"one", [f])
            a.send_message(b"two")
            return await aio.AsyncSocket(b).recv_batch(8, 100, max_fds=0)

    first, second = asyncio.run(main())
    assert (first.data, first.truncated, len(first.fds)) == (b"one", True, 0)
    assert (second.data, second.truncated) == (b"two", False)


LONG_MESSAGE = """
import asyncio, os, unixsock
from unixsock import aio
big = os.urandom(4 << 20)

async def main():
    a, b = (aio.AsyncSocket(s) for s in unixsock.pair("stream"))
    with a.sock, b.sock:
        send = asyncio.ensure_future(a.send_message(big))
        msg = await b.recv_message()
        assert await send == len(big)
        with msg:
            assert msg.data == big
        await a.send_message(b"after")
        with await b.recv_message() as m:
            assert m.data == b"after"
    print("done")

asyncio.run(main())
"""


def test_async_long_stream_message_never_blocks_the_loop():
    # the kernel takes a few hundred KiB at once: the rest must wait for the
    # reader, which runs in the same loop, so blocking on it would hang (in a
    # child: a loop stuck inside a C call holding the GIL stops every thread)
    r = subprocess.run([sys.executable, "-c", LONG_MESSAGE], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "done\n", r.stderr


def test_coroutines_waiting_at_once_on_one_socket_all_wake():
    # the loop keeps one reader per fd: each coroutine registering its own left
    # all but the last waiting for ever
    async def main():
        a, b = unixsock.pair("seqpacket")
        A, B = aio.AsyncSocket(a), aio.AsyncSocket(b)
        waiting = [asyncio.create_task(B.recv(10)), asyncio.create_task(B.recv_message())]
        await asyncio.sleep(0.01)
        await A.send(b"one")
        await A.send(b"two")
        got = await asyncio.wait_for(asyncio.gather(*waiting), 10)
        A.close()
        B.close()
        return got[0], got[1].data

    assert asyncio.run(main()) == (b"one", b"two")


def test_close_wakes_a_waiting_coroutine_with_ebadf():
    async def main():
        a, b = unixsock.pair("seqpacket")
        B = aio.AsyncSocket(b)
        waiting = asyncio.create_task(B.recv(10))
        await asyncio.sleep(0.01)
        B.close()
        try:
            await asyncio.wait_for(waiting, 10)
        except OSError as e:
            return e.errno
        finally:
            a.close()

    assert asyncio.run(main()) == errno.EBADF


def test_coroutines_are_served_in_the_order_they_began_to_wait():
    # the waiters were a set: woken in hash order, a later one took the first message
    async def main():
        a, b = unixsock.pair("seqpacket")
        A, B = aio.AsyncSocket(a), aio.AsyncSocket(b)
        waiting = []
        for _ in range(8):
            waiting.append(asyncio.create_task(B.recv(10)))
            await asyncio.sleep(0)  # each begins to wait before the next is made
        await asyncio.sleep(0.01)
        for i in range(8):
            await A.send(b"%d" % i)
        got = await asyncio.wait_for(asyncio.gather(*waiting), 10)
        A.close()
        B.close()
        return got

    assert asyncio.run(main()) == [b"%d" % i for i in range(8)]


def test_async_accept_on_a_shut_down_listener_raises_instead_of_spinning(abstract):
    async def main():
        listener = aio.AsyncSocket(unixsock.listen(abstract()))
        waiting = asyncio.ensure_future(listener.accept())
        await asyncio.sleep(0.05)  # waiting for readability
        listener.sock.shutdown("r")  # readable for ever after, but no connection comes
        try:
            await asyncio.wait_for(waiting, 5)
        finally:
            listener.close()

    with pytest.raises(OSError) as e:
        asyncio.run(main())
    assert e.value.errno == errno.EINVAL


@pytest.mark.parametrize("how", ["sendto", "send_message", "send_batch", "send_batch of a Message"])
def test_async_datagram_to_a_full_receiver_waits_without_spinning(full_receiver, how):
    # the sender polls writable whatever the receiver's queue holds: the loop
    # used to spin on it, at full CPU, until the receiver read
    rx, tx, address = full_receiver
    sends = {
        "sendto": lambda s: s.sendto(b"next", address),
        "send_message": lambda s: s.send_message(b"next", address=address),
        "send_batch": lambda s: s.send_batch([(b"next", [], False, address)]),
        "send_batch of a Message": lambda s: s.send_batch([unixsock.Message(b"next", address=address)]),
    }

    async def main():
        asyncio.get_running_loop().call_later(0.3, rx.recv, 10)
        cpu = time.thread_time()
        sent = await asyncio.wait_for(sends[how](aio.AsyncSocket(tx)), 5)
        return sent, time.thread_time() - cpu

    sent, cpu = asyncio.run(main())
    assert sent in (1, 4)  # once the receiver made room
    assert cpu < 0.1  # spinning, it took all 0.3 s


def test_open_connection_to_a_full_backlog_backs_off_and_times_out(abstract, monkeypatch):
    addr = abstract()
    with unixsock.listen(addr, backlog=0) as l:
        held = []
        try:
            while True:  # fill the backlog: nobody accepts
                held.append(unixsock.connect(addr, timeout=0))
        except BlockingIOError:
            pass
        try:
            tries = []
            real = aio._connect
            monkeypatch.setattr(aio, "_connect", lambda *a, **k: (tries.append(1), real(*a, **k))[1])
            started = time.monotonic()
            with pytest.raises(TimeoutError) as e:
                asyncio.run(aio.open_connection(addr, timeout=0.5))
            assert time.monotonic() - started >= 0.5
            assert e.value.filename == addr and e.value.errno == errno.ETIMEDOUT
            assert len(tries) < 30  # 1, 2, 4 ... 50 ms apart; every 1 ms it was ~500
        finally:
            for c in held:
                c.close()


def test_async_send_batch_of_one_bytes_object_says_so():
    # it was taken as a list of ints, and the error spoke of "item 0 ... not int"
    async def main():
        a, b = unixsock.pair("seqpacket")
        async with aio.AsyncSocket(a) as x:
            with pytest.raises(TypeError, match=r"not one bytes object \(wrap it: \[data\]\)"):
                await x.send_batch(b"one message")
        b.close()

    asyncio.run(main())


def test_a_cancelled_recv_message_loses_nothing_and_the_next_one_resumes_the_frame():
    a, b = unixsock.pair()
    payload = bytes(range(256)) * 64
    frame = len(payload).to_bytes(4, "big") + b"\0\0US" + payload
    half = len(frame) // 2

    async def main():
        reader = aio.AsyncSocket(b)
        a.sendall(frame[:half])
        task = asyncio.create_task(reader.recv_message())
        for _ in range(20):  # it reads the first half and waits for the rest
            await asyncio.sleep(0)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(OSError) as e:  # the frame is still being read: not for a plain recv
            b.recv(10)
        assert e.value.errno == errno.EBUSY
        a.sendall(frame[half:] + len(b"next").to_bytes(4, "big") + b"\0\0USnext")
        first = await asyncio.wait_for(reader.recv_message(), 10)
        second = await asyncio.wait_for(reader.recv_message(), 10)
        return first.data, second.data

    first, second = asyncio.run(main())
    assert first == payload and second == b"next"
    a.close()
    b.close()


def test_a_cancelled_send_message_is_finished_whole_by_the_next_write():
    a, b = unixsock.pair()
    big = os.urandom(4 << 20)  # far more than the socket buffers hold: it must wait

    async def main():
        writer = aio.AsyncSocket(a)
        task = asyncio.create_task(writer.send_message(big))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not task.done()  # started, waiting for room: nobody reads yet
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        reader = aio.AsyncSocket(b)

        async def read_two():
            return [(await asyncio.wait_for(reader.recv_message(), 10)).data for _ in range(2)]

        got = asyncio.create_task(read_two())
        await asyncio.wait_for(writer.send_message(b"after"), 10)
        return await got

    first, second = asyncio.run(main())
    assert first == big and second == b"after"  # never half of it, never spliced
    a.close()
    b.close()


def test_wrapping_what_is_not_a_socket_says_so_at_once():
    a, b = unixsock.pair()
    with a, b:
        wrapped = aio.AsyncSocket(a)
        with pytest.raises(TypeError, match=r"^AsyncSocket wraps a unixsock.Socket, not AsyncSocket "
                                            r"\(accept and open_connection return AsyncSockets already\)$"):
            aio.AsyncSocket(wrapped)
        with pytest.raises(TypeError, match=r"^AsyncSocket wraps a unixsock.Socket, not int$"):
            aio.AsyncSocket(b.fileno())


def test_errors_of_async_calls_name_the_call_and_say_what_socket_does():
    # recv's said "negative buffersize in try_recv" and "in unixsock.try_recv", a
    # call the task never made; send's named memoryview
    async def main():
        a, b = unixsock.pair("seqpacket")
        A, B = aio.AsyncSocket(a), aio.AsyncSocket(b)
        with pytest.raises(ValueError, match=r"^negative buffersize in recv$"):
            await B.recv(-1)
        with pytest.raises(TypeError, match=r"^data must be bytes-like, not str$"):
            await A.send("x")
        with pytest.raises(TypeError, match=r"^data must be bytes-like, not str$"):
            a.send("x")  # the socket's own words
        L = aio.AsyncSocket(unixsock.listen("@unixsock-aio-listener-recv"))
        with pytest.raises(OSError) as e:
            await L.recv(10)
        assert e.value.errno == errno.EINVAL
        assert e.value.__notes__ == ["in unixsock.recv", "this stream socket listens: it only accepts "
                                     "connections; recv on one that accept returns"]
        for s in (A, B, L):
            s.close()

    asyncio.run(main())


def test_lines_iterates_a_streams_lines_as_a_file_gives_them():
    # a line protocol needed its own buffering around recv
    async def main():
        a, b = unixsock.pair("stream")
        a.send_buffer = b.recv_buffer = 1 << 20
        with a, b:
            conn = aio.AsyncSocket(b)
            writer = aio.AsyncSocket(a)

            async def write():
                await writer.send(b"g1\nh\xc3\xa9\n\n" + b"x" * 300000 + b"\n" + b"line\n" * 50000 + b"last")
                a.shutdown("w")

            task = asyncio.ensure_future(write())
            got = [line async for line in conn.lines()]
            await task
            assert got[:4] == [b"g1\n", "hé\n".encode(), b"\n", b"x" * 300000 + b"\n"]
            assert got[4:-1] == [b"line\n"] * 50000 and got[-1] == b"last"
            p, q = unixsock.pair("seqpacket")
            with p, q:
                with pytest.raises(ValueError, match="lines reads a stream"):
                    async for _ in aio.AsyncSocket(p).lines():
                        pass

    asyncio.run(main())
