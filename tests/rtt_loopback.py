"""A loopback RTT server for the tests: upstream's routes and answers, plus failure modes.

Routes (under ``prefix``, ``/api/rtt`` by default), as the reference server answers:

- ``POST /beacon``: a JSON object with string ``site``, ``session``, ``event`` and
  ``ts`` (and an object ``structure`` if present) -> ``{"status": "ok"}``, else 400
  ``{"error": "invalid_request"}``;
- ``GET /profile/{site}`` -> ``{"site": ..., "profile": {...} | null}``;
- ``POST /profile/{site}``: a dict with ``rtt_version`` and a list ``supports`` ->
  ``{"status": "ok"}`` (stored in memory), else 400 ``{"error": "invalid_profile"}``;
- ``POST /validate``, ``/corridor``, ``/topology`` -> 200 ``not_available``;
- anything else -> 404 ``{"error": "not_found"}``.

Failure modes, each for the next ``n`` requests: :meth:`RttServer.fail_next` (an
error status, optionally with ``Retry-After``), :meth:`RttServer.answer_next` (any
status and raw body), :meth:`RttServer.drop_next` (close without answering),
:meth:`RttServer.delay_next` (sleep before answering). Only ``127.0.0.1`` is bound,
on a free port; :meth:`RttServer.close` wakes sleeping handlers and joins every thread.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

__all__ = ["NOT_AVAILABLE", "RttServer", "Seen", "closed_port"]

NOT_AVAILABLE = "RTT validator inactive (loopback test server)"


@dataclass(frozen=True)
class Seen:
    """One request as the server received it (raw path, before any decoding)."""

    method: str
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class _Action:
    kind: str  # "answer", "drop" or "delay"
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # handler threads are joined by server_close
    owner: RttServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        owner = self.server.owner
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        owner.record(Seen(method, self.path, body, {k.lower(): v for k, v in self.headers.items()}))
        action = owner.next_action()
        if action is not None and action.kind == "delay":
            if owner.stopping.wait(action.delay_s):
                return
            action = None
        if action is not None and action.kind == "drop":
            self.close_connection = True
            return
        if action is not None:
            self._reply(action.status, action.body, action.content_type, action.headers)
            return
        status, answer = owner.route(method, self.path, body)
        self._reply(status, json.dumps(answer).encode(), "application/json", {})

    def _reply(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            # The client gave up (its timeout): nobody is left to answer.
            self.close_connection = True


class RttServer:
    """A real HTTP server on 127.0.0.1 with an ephemeral port, run on a thread.

    Use as a context manager, or call :meth:`start` and :meth:`close`.
    """

    def __init__(self, prefix: str = "/api/rtt") -> None:
        self.prefix = prefix.rstrip("/")
        self.profiles: dict[str, dict[str, Any]] = {}
        self.beacons: list[dict[str, Any]] = []
        self.requests: list[Seen] = []
        self.stopping = threading.Event()
        self._actions: deque[_Action] = deque()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def close(self) -> None:
        self.stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    # --- failure modes ---------------------------------------------------------------

    def _queue(self, n: int, action: _Action) -> None:
        with self._lock:
            self._actions.extend(action for _ in range(n))

    def next_action(self) -> _Action | None:
        with self._lock:
            return self._actions.popleft() if self._actions else None

    def fail_next(self, n: int, status: int = 503, *, retry_after: str | None = None) -> None:
        """Answer the next ``n`` requests with ``status`` and ``{"error": "unavailable"}``."""
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        body = json.dumps({"error": "unavailable"}).encode()
        self._queue(n, _Action("answer", status, body, headers=headers))

    def answer_next(
        self, n: int, status: int, body: bytes, content_type: str = "text/html"
    ) -> None:
        """Answer the next ``n`` requests with this status and raw body."""
        self._queue(n, _Action("answer", status, body, content_type))

    def drop_next(self, n: int) -> None:
        """Close the next ``n`` connections without answering."""
        self._queue(n, _Action("drop"))

    def delay_next(self, n: int, seconds: float) -> None:
        """Wait ``seconds`` before answering the next ``n`` requests normally."""
        self._queue(n, _Action("delay", delay_s=seconds))

    # --- the routes ------------------------------------------------------------------

    def route(self, method: str, raw_path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        path = urlsplit(raw_path).path
        if not path.startswith(self.prefix + "/"):
            return 404, {"error": "not_found"}
        path = path[len(self.prefix) :]
        if method == "POST" and path == "/beacon":
            beacon = _json_object(body)
            if beacon is None or not _is_beacon(beacon):
                return 400, {"error": "invalid_request"}
            with self._lock:
                self.beacons.append(beacon)
            return 200, {"status": "ok"}
        if method == "POST" and path in ("/validate", "/corridor", "/topology"):
            if _json_object(body) is None:
                return 400, {"error": "invalid_request"}
            return 200, {"status": "not_available", "message": NOT_AVAILABLE}
        if path.startswith("/profile/") and "/" not in path[len("/profile/") :]:
            site = unquote(path[len("/profile/") :])
            if method == "GET":
                with self._lock:
                    return 200, {"site": site, "profile": self.profiles.get(site)}
            if method == "POST":
                profile = _json_object(body)
                if (
                    profile is None
                    or "rtt_version" not in profile
                    or not isinstance(profile.get("supports"), list)
                ):
                    return 400, {"error": "invalid_profile"}
                with self._lock:
                    self.profiles[site] = profile
                return 200, {"status": "ok"}
        return 404, {"error": "not_found"}


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _is_beacon(data: dict[str, Any]) -> bool:
    required = all(isinstance(data.get(k), str) for k in ("site", "session", "event", "ts"))
    return required and isinstance(data.get("structure", {}), dict)


def closed_port() -> int:
    """Return a loopback port nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
