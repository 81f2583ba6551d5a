"""Run the diagnostics off the event loop: a bounded pool of worker processes with a time budget.

Diagnostics are CPU work whose cost grows with the body (a triad census is cubic in
the worst case). They run in worker processes, never in the server's process, so the
beacon path keeps its own CPU time and the GIL: the rule is

- at most ``workers`` bodies are diagnosed at once; a request that finds every
  worker busy is answered 503 at once (``busy``), never queued;
- a body gets ``timeout_s`` seconds, counted from when it was handed to a worker;
  past it the worker process is killed (its work is lost, nothing else is) and the
  answer is 503 (``too slow``); a new worker replaces it;
- the worker parses the body (JSON nested at most
  :data:`~rtt_topology.load.documents.MAX_DEPTH` levels), checks it against the
  endpoint's model (:func:`~rtt_topology.diagnostics.payloads.parse_payload`) and runs
  :func:`~rtt_topology.diagnostics.validator.diagnose`; a body that does not fit is
  400 ``invalid_request`` with the reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import multiprocessing.connection
from multiprocessing.process import BaseProcess
from typing import Any

__all__ = ["DiagnosticsPool", "answer_body"]

logger = logging.getLogger("rtt_topology.remote.server")

_CONTEXT = multiprocessing.get_context("spawn")
_READY = "ready"
#: Seconds a new worker may take to import the diagnostics (not part of a body's budget).
START_TIMEOUT_S = 120.0


def answer_body(endpoint: str, body: bytes, *, max_triads: int = 100) -> tuple[int, bytes]:
    """Diagnose one body; return the HTTP status and the JSON answer.

    This is what a worker runs; it is also usable in-process.

    Examples
    --------
    >>> status, text = answer_body("topology", b'{"graph": {"a": ["b"], "b": []}}')
    >>> answer = json.loads(text)
    >>> status, answer["status"], answer["result"], answer["summary"]["sources"]
    (200, 'ok', 'ok', ['a'])
    >>> answer_body("topology", b'{"graph": 3}')[0]
    400
    """
    from rtt_topology.diagnostics.payloads import parse_payload
    from rtt_topology.diagnostics.validator import diagnose
    from rtt_topology.errors import RttTopologyError
    from rtt_topology.load.documents import parse_json

    try:
        text = body.decode("utf-8")
        data = parse_json(text, f"/{endpoint} body")
        if not isinstance(data, dict):
            raise ValueError(f"/{endpoint} body: a JSON object is expected")
        payload = parse_payload(data, endpoint)  # type: ignore[arg-type]
        diagnosis = diagnose(payload, max_triads=max_triads)
    except UnicodeDecodeError as exc:
        return 400, _error("invalid_request", f"body: invalid UTF-8 (byte {exc.start})")
    except (RttTopologyError, ValueError, RecursionError) as exc:
        return 400, _error("invalid_request", str(exc) or type(exc).__name__)
    # "status" is the endpoint's (ok: answered); the diagnosis' own verdict is "result".
    answer: dict[str, Any] = diagnosis.model_dump(mode="json")
    answer = {"status": "ok", "result": answer.pop("status"), **answer}
    # ASCII escapes: names in the body may hold lone surrogates, which UTF-8 cannot encode.
    return 200, json.dumps(answer).encode("ascii")


def _error(error: str, reason: str) -> bytes:
    return json.dumps({"error": error, "reason": reason}).encode("ascii")


def _worker_main(conn: multiprocessing.connection.Connection) -> None:
    """Answer bodies received on ``conn`` until it closes."""
    # Import the heavy modules once, before the first body is timed.
    import rtt_topology.diagnostics  # noqa: F401

    conn.send(_READY)
    while True:
        try:
            endpoint, body = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            result = answer_body(endpoint, body)
        except Exception as exc:  # a bug must not kill the worker: the server logs it
            result = (500, _error("internal_error", type(exc).__name__))
        conn.send(result)


class _Worker:
    def __init__(self) -> None:
        self.conn, child = _CONTEXT.Pipe()
        self.process: BaseProcess = _CONTEXT.Process(
            target=_worker_main, args=(child,), daemon=True, name="rtt-diagnostics"
        )
        self.process.start()
        child.close()
        self.ready = False

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


async def _readable(conn: multiprocessing.connection.Connection, timeout_s: float) -> None:
    """Wait until ``conn`` has something to read; raise ``TimeoutError`` after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    fd = conn.fileno()
    loop.add_reader(fd, readable)
    try:
        await asyncio.wait_for(ready, timeout_s)
    finally:
        loop.remove_reader(fd)


class DiagnosticsPool:
    """A bounded pool of diagnostics worker processes (see the module docstring).

    Parameters
    ----------
    workers
        Bodies diagnosed at once.
    timeout_s
        Time budget of one body, in seconds.

    Examples
    --------
    >>> import asyncio
    >>> async def main():
    ...     pool = DiagnosticsPool(1, 60.0)
    ...     try:
    ...         return await pool.run("topology", b'{"graph": {"a": []}}')
    ...     finally:
    ...         pool.close()
    >>> status, body = asyncio.run(main())
    >>> status, json.loads(body)["endpoint"]
    (200, 'topology')
    """

    def __init__(self, workers: int, timeout_s: float) -> None:
        self.workers = workers
        self.timeout_s = timeout_s
        self._idle: list[_Worker] = []
        self._busy = 0
        self._closed = False
        self.timeouts = 0
        self.busy_rejects = 0

    def start(self) -> None:
        """Start the workers now, so the first body does not wait for their imports."""
        while len(self._idle) + self._busy < self.workers:
            self._idle.append(_Worker())

    @property
    def busy(self) -> int:
        """Bodies being diagnosed now."""
        return self._busy

    async def run(self, endpoint: str, body: bytes) -> tuple[int, bytes]:
        """Diagnose ``body`` in a worker; return the HTTP status and the JSON answer."""
        if self.is_closed():
            return 503, _error("unavailable", "the server is shutting down")
        if self._busy >= self.workers:
            self.busy_rejects += 1
            return 503, _error(
                "busy", f"all {self.workers} diagnostics workers are busy: retry later"
            )
        try:
            worker = self._idle.pop() if self._idle else _Worker()
        except (OSError, RuntimeError) as exc:
            logger.error("cannot start a diagnostics worker: %s", exc)
            return 503, _error("unavailable", "no diagnostics worker could be started")
        self._busy += 1
        try:
            result = await self._ask(worker, endpoint, body)
        finally:
            self._busy -= 1
        if result is None:
            self.timeouts += 1
            worker.kill()
            return 503, _error(
                "too_slow",
                f"the diagnostics took longer than {self.timeout_s:g} s: send a smaller body",
            )
        if result[0] == 0:
            # The worker died under this body (killed from outside, out of memory).
            worker.kill()
            return 503, _error("unavailable", "the diagnostics worker stopped: retry later")
        if self.is_closed():
            worker.kill()
        else:
            self._idle.append(worker)
        return result

    def is_closed(self) -> bool:
        """Tell whether :meth:`close` was called."""
        return self._closed

    async def _ask(self, worker: _Worker, endpoint: str, body: bytes) -> tuple[int, bytes] | None:
        try:
            if not worker.ready:
                # A new worker imports the diagnostics first: that is not the body's time.
                await _readable(worker.conn, START_TIMEOUT_S)
                if worker.conn.recv() != _READY:
                    return 0, b""
                worker.ready = True
            # A big body fills the pipe: send it from a thread, never block the loop.
            await asyncio.to_thread(worker.conn.send, (endpoint, body))
            await _readable(worker.conn, self.timeout_s)
            status, answer = worker.conn.recv()
        except TimeoutError:
            return None
        except (EOFError, OSError) as exc:
            logger.warning("diagnostics worker died: %s", exc)
            return 0, b""
        if status == 500:
            logger.error("diagnostics failed on a /%s body: %s", endpoint, answer)
            return 503, _error("unavailable", "the diagnostics failed on this body")
        return int(status), bytes(answer)

    def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        while self._idle:
            self._idle.pop().kill()
