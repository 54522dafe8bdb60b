"""The shop stack's edge on Swarm: one published port in front of every ``app`` task.

Why it exists. Swarm's routing mesh (a published port reaching every task
through a virtual IP) needs the kernel's IPVS; a machine without it (this
project's CI runners, a Firecracker VM) has no mesh, and a port published in
``mode: host`` reaches one task only. This service stands in for the mesh:
it resolves ``tasks.<service>`` through the engine's DNS (every task's
address, ``endpoint_mode: dnsrr``) twice a second and spreads connections
over them. On an engine with IPVS, drop it and publish the app through the
mesh instead (see the README's Swarm section).

During the engine's rolling update a task being replaced leaves the DNS
answer and closes its listener; a connection that finds a task gone
(refused, reset, or closed before any answer byte) is replayed on another
task, the bytes the client sent so far kept for that. Once a task has
started answering, the connection is a plain pipe. So a rolling update
(``order: start-first``) loses no request that a task had not started to
answer.

Run as ``python3 swarm_edge.py --listen 8000 --to tasks.app:8000``; only the
standard library (it runs on the base image, mounted as a Swarm config).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import socket
import sys

RESOLVE_EVERY_S = 0.5
CONNECT_TIMEOUT_S = 2.0
#: How long one client connection may go on looking for a task that answers.
FIND_TASK_S = 15.0
CHUNK = 65536
UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Tasks:
    """The service's task addresses, as the engine's DNS gives them now."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.addresses: list[str] = []
        self.turn = itertools.count()

    async def refresh(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except OSError:
            found = []  # no task (yet): callers wait and retry
        self.addresses = sorted({str(item[4][0]) for item in found})

    async def keep_fresh(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(RESOLVE_EVERY_S)

    def order(self) -> list[str]:
        """Every address once, starting at the next one in turn (round robin)."""
        if not self.addresses:
            return []
        start = next(self.turn) % len(self.addresses)
        return self.addresses[start:] + self.addresses[:start]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            if writer.can_write_eof():
                writer.write_eof()


async def _first_answer(
    tasks: Tasks, sent: bytearray, client: asyncio.StreamReader
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes] | None:
    """A task connection that has answered ``sent`` with its first bytes; None when none would."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FIND_TASK_S
    while loop.time() < deadline:
        for address in tasks.order() or []:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(address, tasks.port), CONNECT_TIMEOUT_S
                )
            except (TimeoutError, OSError):
                continue
            try:
                writer.write(bytes(sent))
                await writer.drain()
                first = await _read_first(reader, client, writer, sent)
            except (ConnectionError, OSError):
                first = b""
            if first:
                return reader, writer, first
            writer.close()  # gone before answering: replay on the next task
        await asyncio.sleep(0.1)
        await tasks.refresh()
    return None


async def _read_first(
    task: asyncio.StreamReader,
    client: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    sent: bytearray,
) -> bytes:
    """The task's first answer bytes; what the client sends meanwhile goes on to it and is kept."""
    answer = asyncio.ensure_future(task.read(CHUNK))
    client_open = True
    try:
        while client_open:
            more = asyncio.ensure_future(client.read(CHUNK))
            try:
                await asyncio.wait({answer, more}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not more.done():
                    more.cancel()  # no byte was taken from the client: nothing is lost
            if more.done() and not more.cancelled():
                chunk = more.result()
                if chunk:
                    sent.extend(chunk)
                    writer.write(chunk)
                    await writer.drain()
                else:
                    client_open = False  # the client has said all it will
            if answer.done():
                return answer.result()
        return await answer
    finally:
        if not answer.done():
            answer.cancel()


async def handle(
    tasks: Tasks, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
) -> None:
    try:
        first_bytes = await client_reader.read(CHUNK)
        if not first_bytes:
            return
        found = await _first_answer(tasks, bytearray(first_bytes), client_reader)
        if found is None:
            client.write(UNAVAILABLE)
            await client.drain()
            return
        reader, writer, first = found
        client.write(first)
        await client.drain()
        await asyncio.gather(_pipe(client_reader, writer), _pipe(reader, client))
        writer.close()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            client.close()


async def main(listen: int, to: str) -> None:
    host, _, port = to.rpartition(":")
    tasks = Tasks(host, int(port))
    await tasks.refresh()
    refresher = asyncio.ensure_future(tasks.keep_fresh())
    server = await asyncio.start_server(lambda r, w: handle(tasks, r, w), "0.0.0.0", listen)  # noqa: S104
    print(f"edge: 0.0.0.0:{listen} -> {to} ({len(tasks.addresses)} tasks now)", flush=True)
    try:
        async with server:
            await server.serve_forever()
    finally:
        refresher.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--to", required=True, help="tasks.SERVICE:PORT")
    options = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(options.listen, options.to))
    sys.exit(0)
