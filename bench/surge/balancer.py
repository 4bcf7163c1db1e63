"""A round-robin HTTP proxy in front of the surge bench's app hosts.

    python bench/surge/balancer.py PORT UPSTREAM_PORT [UPSTREAM_PORT ...]

Listens on 127.0.0.1:PORT and sends each request to the next app host (127.0.0.1:UPSTREAM_PORT,
named app1, app2, … in that order) in turn, with no sticky sessions, as the README's
deployment does: a session started on one host goes on on the other. The turn is kept per
reporter (the bench's ``X-Bench-Reporter`` header), so every reporter's requests alternate
hosts; a turn shared by all requests would mix each reporter's only at random. Requests
without the header take a shared turn. Each response names the host that served it
(``X-Served-By``), so the bench can check the alternation.

The client's connection is kept alive; each request gets a new upstream connection
(``Connection: close``), so no idle upstream connection goes stale when gunicorn closes it
or restarts a worker. Request bodies must have a Content-Length (the bench's do). Prints
"ready" once it listens; stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys

HOST = "127.0.0.1"
# Headers of one connection, not of the message: each side gets its own.
HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade"}
UPSTREAM_TIMEOUT = 300


def _split(head: bytes) -> tuple[bytes, list[bytes], dict[bytes, bytes]]:
    """The first line, the other header lines but the hop-by-hop ones, and every header by lower-case name."""
    first, *lines = head.rstrip(b"\r\n").split(b"\r\n")
    headers = {}
    kept = []
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
        if name.strip().lower() not in HOP_BY_HOP:
            kept.append(line)
    return first, kept, headers


def _message(first: bytes, lines: list[bytes], body: bytes) -> bytes:
    return b"\r\n".join([first, *lines]) + b"\r\n\r\n" + body


def _error(status: bytes, text: str) -> bytes:
    body = text.encode()
    return _message(b"HTTP/1.1 " + status, [b"Content-Type: text/plain", b"Content-Length: %d" % len(body)], body)


class Balancer:
    def __init__(self, upstreams: list[int]):
        self.upstreams = upstreams
        self.shared_turn = itertools.count()
        self.turns: dict[bytes, int] = {}  # reporter -> its next turn

    def upstream_choose(self, reporter: bytes | None) -> int:
        if reporter is None:
            return next(self.shared_turn) % len(self.upstreams)
        # A new reporter starts on the host of the shared turn: the first requests spread too.
        turn = self.turns.get(reporter)
        if turn is None:
            turn = next(self.shared_turn)
        self.turns[reporter] = turn + 1
        return turn % len(self.upstreams)

    async def forward(self, index: int, first: bytes, lines: list[bytes], body: bytes) -> bytes:
        try:
            reader, writer = await asyncio.open_connection(HOST, self.upstreams[index])
        except OSError as exc:
            return _error(b"502 Bad Gateway", f"app{index + 1}: {exc}")
        try:
            writer.write(_message(first, [*lines, b"Connection: close"], body))
            await writer.drain()
            response = await asyncio.wait_for(reader.read(), UPSTREAM_TIMEOUT)  # until the host closes
        except (OSError, TimeoutError) as exc:
            return _error(b"502 Bad Gateway", f"app{index + 1}: {exc!r}")
        finally:
            writer.close()
        head, separator, content = response.partition(b"\r\n\r\n")
        if not separator:
            return _error(b"502 Bad Gateway", f"app{index + 1} closed the connection without a response")
        status, kept, headers = _split(head)
        if b"content-length" not in headers and b"transfer-encoding" not in headers:
            kept.append(b"Content-Length: %d" % len(content))  # it ended with the connection
        return _message(status, [*kept, b"X-Served-By: app%d" % (index + 1), b"Connection: keep-alive"], content)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                first, lines, headers = _split(head)
                if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
                    writer.write(_error(b"501 Not Implemented", "chunked request bodies are not supported"))
                    return
                length = int(headers.get(b"content-length", b"0"))
                body = await reader.readexactly(length) if length else b""
                index = self.upstream_choose(headers.get(b"x-bench-reporter"))
                writer.write(await self.forward(index, first, lines, body))
                await writer.drain()
                if headers.get(b"connection", b"").lower() == b"close":
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _serve(port: int, upstreams: list[int]) -> None:
    server = await asyncio.start_server(Balancer(upstreams).handle, HOST, port, reuse_address=True, backlog=1024)
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    port, *upstreams = (int(arg) for arg in sys.argv[1:])
    asyncio.run(_serve(port, upstreams))
