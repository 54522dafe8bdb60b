"""A small TCP fault proxy on a cross-region link (Toxiproxy's model, no netem needed).

It listens on 127.0.0.1 and forwards every connection to one upstream. Its
toxics can change while it runs:

- ``latency_ms`` +/- ``jitter_ms``: each chunk is held that long before it
  is forwarded, in order (a later chunk never overtakes an earlier one), in
  both directions, so a round trip costs twice the latency;
- ``reset``: every open connection is reset (RST, via SO_LINGER 0) and new
  ones are reset on arrival until the toxic is lifted.

It runs on its own asyncio loop in a daemon thread of the run, so it dies
with the run; nothing on the host has to be reverted when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass


@dataclass
class Toxics:
    """The faults applied to the link right now; all zero means a clean link."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    reset: bool = False


def _reset_transport(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class LinkProxy:
    """A running proxy from ``listen_host:port`` to ``upstream_host:upstream_port``."""

    def __init__(
        self,
        upstream_port: int,
        upstream_host: str = "127.0.0.1",
        listen_host: str = "127.0.0.1",
        seed: int = 7,
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listen_host = listen_host
        self.toxics = Toxics()
        self.port = 0
        self.connections = 0
        self._random = random.Random(seed)  # noqa: S311 - jitter, not security
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"link-proxy-{upstream_port}", daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> LinkProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the link proxy did not start")
        return self

    def set(self, latency_ms: float = 0.0, jitter_ms: float = 0.0, reset: bool = False) -> None:
        """Change the toxics; ``reset`` also resets every open connection now."""
        self.toxics = Toxics(latency_ms, jitter_ms, reset)
        if reset:
            self._loop.call_soon_threadsafe(self._reset_all)

    def clear(self) -> None:
        self.set()

    def retarget(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        """Send new connections to another upstream (the new primary after a failover)."""
        self.upstream = (upstream_host, upstream_port)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        self._thread.join(5)

    async def _shutdown(self) -> None:
        """Close the listener, reset every link, and let every task finish before the loop stops."""
        if self._server is not None:
            self._server.close()
        self._reset_all()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop.stop()

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            _reset_transport(writer)
        self._writers.clear()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, self.listen_host, 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                self._loop.close()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.toxics.reset:
            _reset_transport(client_w)
            return
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset_transport(client_w)
            return
        self.connections += 1
        self._writers.update((client_w, upstream_w))
        # A cancelled handler must end quietly: asyncio's stream callback reads its exception.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(
                self._pipe(client_r, upstream_w, client_w), self._pipe(upstream_r, client_w, upstream_w)
            )
        self._writers.difference_update((client_w, upstream_w))

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, other: asyncio.StreamWriter
    ) -> None:
        """Forward one direction, holding each chunk for the current latency, in order."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        release_floor = 0.0

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                chunk = await reader.read(65536)
                toxics = self.toxics
                jitter = (
                    self._random.uniform(-toxics.jitter_ms, toxics.jitter_ms) if toxics.jitter_ms else 0.0
                )
                due = time.monotonic() + max(toxics.latency_ms + jitter, 0.0) / 1000
                release_floor = max(release_floor, due)
                await queue.put((release_floor, chunk))
                if not chunk:
                    break
            await sender
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            sender.cancel()
            for end in (writer, other):
                with contextlib.suppress(Exception):
                    end.close()


__all__ = ["LinkProxy", "Toxics"]
