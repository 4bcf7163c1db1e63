"""A TCP relay: forwards each LISTEN address to its TARGET, for the multi-host test.

    python tests/multihost/relay.py 10.201.1.1:5432=127.0.0.1:5432 10.201.1.1:6379=127.0.0.1:6379 ...

The machine's PostgreSQL and Redis listen on 127.0.0.1 only; the test's hosts live in their
own network namespaces and reach them through this relay, bound to the host side of their
veth pair. No service configuration changes, and the relay ends with the test. A LISTEN with several
TARGETs (``LISTEN=TARGET1,TARGET2``) sends each new connection to the next of them in turn:
a round-robin load balancer in front of app hosts. Prints "ready" once every address listens.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import sys


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # noqa: BLE001 - the other side may be gone already
            pass


def _handler(targets: list[tuple[str, int]]):
    turns = itertools.cycle(targets)

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        host, port = next(turns)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))

    return handle


async def _main(routes: list[tuple[tuple[str, int], list[tuple[str, int]]]]) -> None:
    servers = [
        await asyncio.start_server(_handler(targets), host, port, reuse_address=True)
        for (host, port), targets in routes
    ]
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("routes", nargs="+", metavar="LISTEN=TARGET[,TARGET...]")
    args = parser.parse_args(argv)
    routes = []
    for route in args.routes:
        listen, _, targets = route.partition("=")
        routes.append((_address(listen), [_address(t) for t in targets.split(",")]))
    asyncio.run(_main(routes))


if __name__ == "__main__":
    main(sys.argv[1:])
