"""asyncio: awaitable accept/recv/send and messages with fds."""
import asyncio
import os

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
