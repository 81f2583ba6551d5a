"""The HTTP protocol the server runs: httptools, sending a response head and body as one."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["CoalescingTransport", "http_protocol"]


class CoalescingTransport:
    r"""A transport that sends a response's head and the write after it as one.

    Uvicorn writes a response's status line and headers, then its body: two
    ``send`` system calls and, with ``TCP_NODELAY``, two packets for a 15-byte
    answer. The rule here: a write that ends a header block (its last bytes are
    ``\r\n\r\n``) is held; the next write goes out joined to it, at once. A held
    write that nothing follows (no body, or a body produced later) goes out on the
    event loop's next pass. Order is kept; ``close`` and ``set_protocol`` send the
    held write first; everything else is the wrapped transport's.

    Examples
    --------
    >>> class Sink:
    ...     def __init__(self): self.writes = []
    ...     def write(self, data): self.writes.append(data)
    ...     def is_closing(self): return False
    ...     def close(self): self.writes.append(b"<closed>")
    >>> loop = asyncio.new_event_loop()
    >>> sink = Sink()
    >>> transport = CoalescingTransport(sink, loop)
    >>> transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    >>> sink.writes
    []
    >>> transport.write(b"{}")
    >>> sink.writes
    [b'HTTP/1.1 200 OK\r\n\r\n{}']
    >>> transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    >>> loop.run_until_complete(asyncio.sleep(0))
    >>> sink.writes[1:]
    [b'HTTP/1.1 204 No Content\r\n\r\n']
    >>> transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    >>> transport.close()
    >>> sink.writes[2:]
    [b'HTTP/1.1 200 OK\r\n\r\n', b'<closed>']
    >>> loop.close()
    """

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        """Write ``data`` (after a held head, joined), or hold it when it ends a header block."""
        held = self._held
        if held is not None:
            self._held = None
            data = held + data
        elif data[-4:] == b"\r\n\r\n":
            self._held = data
            # Sent by then if no other write follows in this step of the loop.
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        """Write the held head, if any, unless the transport is closing."""
        held = self._held
        if held is None:
            return
        self._held = None
        if not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        """Flush, then close the transport (it sends what it buffered before closing)."""
        self.flush()
        self._transport.close()

    def set_protocol(self, protocol: Any) -> None:
        """Flush, then hand the connection to another protocol (an upgrade)."""
        self.flush()
        self._transport.set_protocol(protocol)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def http_protocol() -> type[asyncio.Protocol] | str:
    """Return the HTTP protocol for uvicorn: httptools, through :class:`CoalescingTransport`.

    Without httptools installed, ``"h11"`` (uvicorn's pure-Python protocol), unchanged.

    Examples
    --------
    >>> http_protocol().__name__
    'CoalescingHttpToolsProtocol'
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "h11"

    class CoalescingHttpToolsProtocol(HttpToolsProtocol):
        """Uvicorn's httptools protocol, writing through a :class:`CoalescingTransport`."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            wrapped: Any = CoalescingTransport(transport, self.loop)
            super().connection_made(wrapped)

    return CoalescingHttpToolsProtocol
