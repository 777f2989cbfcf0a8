#!/usr/bin/env python3
"""stream_idle.py - hold N WebSockets open on tradedesk-stream (bench/stream_idle.sh).

    stream_idle.py HOST:PORT N [CHANNEL] [SECONDS]

Opens N connections (RFC 6455 upgrade on /ws, no library), each optionally
subscribed to CHANNEL (e.g. prices:BTC-USDT; "-" for none), prints
"open N" once all are upgraded (and subscribed), then counts the messages
they receive for SECONDS and prints "received M messages in S s", then
closes them.  Frames are not unmasked or parsed beyond their headers: the
count is what the server delivered.
"""
import asyncio, base64, os, sys, time


async def one(host, port, channel, counter, ready):
    r, w = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    w.write(("GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (host, key)).encode())
    head = await r.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head.decode(errors="replace"))
    if channel != "-":
        msg = ('{"op":"subscribe","channels":["%s"]}' % channel).encode()
        mask = os.urandom(4)
        w.write(bytes([0x81, 0x80 | len(msg)]) + mask +
                bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
    ready.append(1)
    while True:
        h = await r.readexactly(2)
        n = h[1] & 0x7F
        if n == 126:
            n = int.from_bytes(await r.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await r.readexactly(8), "big")
        await r.readexactly(n)
        if h[0] & 0x0F == 1:
            counter[0] += 1


async def main():
    host, port = sys.argv[1].rsplit(":", 1)
    n = int(sys.argv[2])
    channel = sys.argv[3] if len(sys.argv) > 3 else "-"
    secs = float(sys.argv[4]) if len(sys.argv) > 4 else 5
    counter, ready = [0], []
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(one(host, int(port), channel, counter, ready)))
        if i % 200 == 199:
            await asyncio.sleep(0.05)
    while len(ready) < n:
        done = [t for t in tasks if t.done() and t.exception()]
        if done:
            raise done[0].exception()
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)  # the subscribe replies and snapshots
    print("open %d" % n, flush=True)
    start, first = time.time(), counter[0]
    await asyncio.sleep(secs)
    print("received %d messages in %.1f s" % (counter[0] - first, time.time() - start), flush=True)
    sys.stdin.readline()  # the caller measures, then lets go
    for t in tasks:
        t.cancel()


asyncio.run(main())
