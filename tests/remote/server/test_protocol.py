"""The HTTP protocol: writes of one loop step leave as one, in order, through real uvicorn."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
import uvicorn

from rtt_topology.remote.server.protocol import CoalescingTransport, http_protocol


class Sink:
    """A transport that records what is written to it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False
        self.protocol: object = None

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.writes.append(b"<close>")
        self.closing = True

    def set_protocol(self, protocol: object) -> None:
        self.writes.append(b"<protocol>")
        self.protocol = protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000)}.get(name, default)


@pytest.fixture
def loop() -> Any:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


def test_a_head_goes_out_with_the_next_write_at_once(loop: asyncio.AbstractEventLoop) -> None:
    sink = Sink()
    transport = CoalescingTransport(sink, loop)
    transport.write(HEAD)
    assert sink.writes == []
    transport.write(b"{}")
    assert sink.writes == [HEAD + b"{}"]
    # Writes that do not end a header block are never held.
    transport.write(b"more")
    assert sink.writes[1:] == [b"more"]
    loop.run_until_complete(asyncio.sleep(0))
    assert sink.writes == [HEAD + b"{}", b"more"]


def test_a_head_alone_goes_out_on_the_next_pass(loop: asyncio.AbstractEventLoop) -> None:
    sink = Sink()
    transport = CoalescingTransport(sink, loop)
    transport.write(HEAD)
    loop.run_until_complete(asyncio.sleep(0))
    assert sink.writes == [HEAD]
    # A head after a flushed one is held again, and joins its own body.
    transport.write(HEAD)
    transport.write(b"{}")
    loop.run_until_complete(asyncio.sleep(0))
    assert sink.writes == [HEAD, HEAD + b"{}"]


def test_close_and_upgrade_send_the_held_head_first(loop: asyncio.AbstractEventLoop) -> None:
    sink = Sink()
    transport = CoalescingTransport(sink, loop)
    transport.write(HEAD)
    transport.set_protocol("other")
    transport.write(HEAD)
    transport.close()
    loop.run_until_complete(asyncio.sleep(0))
    assert sink.writes == [HEAD, b"<protocol>", HEAD, b"<close>"]
    assert sink.protocol == "other"


def test_nothing_is_written_to_a_closing_transport(loop: asyncio.AbstractEventLoop) -> None:
    sink = Sink()
    transport = CoalescingTransport(sink, loop)
    transport.write(HEAD)
    sink.closing = True  # the peer went away before the flush
    loop.run_until_complete(asyncio.sleep(0))
    assert sink.writes == []
    assert transport.is_closing() is True
    assert transport.get_extra_info("peername") == ("127.0.0.1", 5000)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = scope["path"].encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def test_uvicorn_serves_pipelined_requests_in_order_through_it() -> None:
    protocol = http_protocol()
    assert not isinstance(protocol, str)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        config = uvicorn.Config(_app, http=protocol, loop="asyncio", lifespan="off",
                                log_level="warning", access_log=False)  # fmt: skip
        server = uvicorn.Server(config)

        async def exchange() -> bytes:
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:
                await asyncio.sleep(0.01)
            reader, writer = await asyncio.open_connection(*sock.getsockname())
            writer.write(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n"
                         b"Connection: close\r\n\r\n")  # fmt: skip
            answer = await asyncio.wait_for(reader.read(), timeout=10)
            writer.close()
            server.should_exit = True
            await asyncio.wait_for(serving, timeout=10)
            return answer

        answer = asyncio.run(exchange())
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.index(b"\r\n\r\n/one") < answer.index(b"\r\n\r\n/two")
    assert answer.endswith(b"/two")
