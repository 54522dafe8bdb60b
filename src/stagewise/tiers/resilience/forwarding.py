"""What the builtin router does to a request and its answer on the way through (RFC 9110/9112).

A reverse proxy forwards every end-to-end header and drops the hop-by-hop
ones (they describe one connection, not the message): ``Connection`` and
the headers it names, ``Keep-Alive``, ``Proxy-Authenticate``,
``Proxy-Authorization``, ``TE``, ``Trailer``, ``Transfer-Encoding`` and
``Upgrade``. It adds the client's address to ``X-Forwarded-For``, says the
original ``Host`` and scheme in ``X-Forwarded-Host`` / ``X-Forwarded-Proto``
(kept when a proxy in front already set them) and itself in ``Via``; the
``Host`` header itself goes through unchanged, as HAProxy passes it.

Bodies are streamed in pieces of :data:`CHUNK` bytes, never read whole, so a
large upload or download costs the router a bounded amount of memory: a
``Content-Length`` body is copied byte for byte, a chunked one is decoded
and chunked again (its trailers are dropped: ``Trailer`` is hop-by-hop).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from email.message import Message
from io import BufferedIOBase

#: How much of a body the router holds at a time.
CHUNK = 64 * 1024
#: The longest chunk-size or trailer line accepted (what http.client allows).
MAX_LINE = 65536
#: Headers that describe one connection and must not be forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",  # not standard, but sent by old clients with the same meaning
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
#: What the router says about itself in ``Via``.
VIA_NAME = "stagewise-router"


class BadRequestBody(Exception):
    """The client's body framing is wrong or ended early; the answer is ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def end_to_end(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` without the hop-by-hop ones, those named in ``Connection``, and ``Content-Length``.

    ``Content-Length`` goes because the router sets the framing of what it
    sends itself (see :func:`body_framing`).
    """
    pairs = list(headers)
    named = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    }
    dropped = HOP_BY_HOP | named | {"content-length"}
    return [(name, value) for name, value in pairs if name.lower() not in dropped]


def request_headers(
    incoming: Message, client_ip: str, version: str, backend_host: str
) -> list[tuple[str, str]]:
    """The headers to send a region for a client's request (framing headers not included).

    ``Expect`` is answered by the router itself (``100 Continue``) and not
    passed on; ``X-Forwarded-For`` and ``Via`` are extended, not replaced.
    """
    own = {"expect", "x-forwarded-for", "via"}
    pairs = [(name, value) for name, value in end_to_end(incoming.items()) if name.lower() not in own]
    names = {name.lower() for name, _ in pairs}
    chain = [part.strip() for value in incoming.get_all("X-Forwarded-For") or [] for part in value.split(",")]
    pairs.append(("X-Forwarded-For", ", ".join([*(p for p in chain if p), client_ip])))
    host = incoming.get("Host")
    if host is None:
        pairs.append(("Host", backend_host))  # HTTP/1.0 clients may send none; a region needs one
    elif "x-forwarded-host" not in names:
        pairs.append(("X-Forwarded-Host", host))
    if "x-forwarded-proto" not in names:
        pairs.append(("X-Forwarded-Proto", "http"))  # the router listens on plain HTTP
    via = [*(incoming.get_all("Via") or []), f"{version.removeprefix('HTTP/')} {VIA_NAME}"]
    pairs.append(("Via", ", ".join(via)))
    return pairs


def body_framing(
    incoming: Message, rfile: BufferedIOBase
) -> tuple[list[tuple[str, str]], Iterator[bytes] | None]:
    """How the request body is framed onward, and its pieces (None: no body).

    A chunked body is forwarded chunked; a ``Content-Length`` body with the
    same length; with both, chunked wins and the length is dropped (RFC
    9112 §6.3, what HAProxy does). Raises :class:`BadRequestBody` for a
    framing the router cannot forward safely.
    """
    codings = [
        c.strip().lower() for value in incoming.get_all("Transfer-Encoding") or [] for c in value.split(",")
    ]
    codings = [c for c in codings if c]
    if codings:
        if codings != ["chunked"]:
            raise BadRequestBody(f"transfer coding {', '.join(codings)} is not supported", status=501)
        return [("Transfer-Encoding", "chunked")], read_chunked(rfile)
    lengths = {
        part.strip() for value in incoming.get_all("Content-Length") or [] for part in value.split(",")
    }
    if not lengths:
        return [], None
    if len(lengths) != 1 or not next(iter(lengths)).isdigit():
        raise BadRequestBody(f"invalid Content-Length {', '.join(sorted(lengths))}")
    length = int(next(iter(lengths)))
    return [("Content-Length", str(length))], (read_exactly(rfile, length) if length else None)


def read_exactly(rfile: BufferedIOBase, length: int) -> Iterator[bytes]:
    """``length`` bytes of ``rfile`` in pieces; :class:`BadRequestBody` if it ends first."""
    left = length
    while left:
        piece = _read(rfile, min(left, CHUNK))
        if not piece:
            raise BadRequestBody(f"the request body ended {left} bytes early")
        left -= len(piece)
        yield piece


def read_chunked(rfile: BufferedIOBase) -> Iterator[bytes]:
    """The data of a chunked body, in pieces; reads through the last chunk and the trailers."""
    while True:
        line = _readline(rfile)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadRequestBody(f"invalid chunk size {size_text[:20]!r}") from None
        if size < 0:
            raise BadRequestBody("invalid chunk size")
        if size == 0:
            while _readline(rfile) not in (b"\r\n", b"\n"):
                pass  # a trailer field: dropped
            return
        yield from read_exactly(rfile, size)
        if _readline(rfile) not in (b"\r\n", b"\n"):
            raise BadRequestBody("a chunk does not end with CRLF")


def chunk(piece: bytes) -> bytes:
    """One chunk of a chunked body (``piece`` must not be empty: that is the last chunk)."""
    return b"%x\r\n%s\r\n" % (len(piece), piece)


#: The last chunk of a chunked body, with no trailers.
LAST_CHUNK = b"0\r\n\r\n"


def _readline(rfile: BufferedIOBase) -> bytes:
    try:
        line = rfile.readline(MAX_LINE + 1)
    except OSError as exc:
        raise BadRequestBody(f"the request body could not be read: {exc}") from exc
    if not line:
        raise BadRequestBody("the request body ended early")
    if len(line) > MAX_LINE:
        raise BadRequestBody("a chunk line is too long")
    return line


def _read(rfile: BufferedIOBase, size: int) -> bytes:
    try:
        return rfile.read(size)
    except OSError as exc:
        raise BadRequestBody(f"the request body could not be read: {exc}") from exc


__all__ = [
    "CHUNK",
    "HOP_BY_HOP",
    "LAST_CHUNK",
    "BadRequestBody",
    "body_framing",
    "chunk",
    "end_to_end",
    "read_chunked",
    "read_exactly",
    "request_headers",
]
