"""Run ``rtt-topology serve`` in a subprocess on a free loopback port, for integration tests.

:class:`ServeProcess` starts the real server (``python -m rtt_topology serve --data DIR
--port P``), waits until ``GET /healthz`` answers 200, and stops it by its process id:
:meth:`~ServeProcess.terminate` (SIGTERM, graceful), :meth:`~ServeProcess.interrupt`
(SIGINT) or :meth:`~ServeProcess.kill` (SIGKILL, as a crash). The server's output goes
to a log file beside the data directory, read back by :meth:`~ServeProcess.log_text`.
A port taken between choosing it and binding it is retried with another one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

from tests.rtt_loopback import closed_port

__all__ = ["GRACEFUL_EXIT", "ServeProcess", "serve_argv", "wait_until"]

#: Seconds a server may take to answer ``/healthz`` (imports included, on a loaded machine).
START_TIMEOUT_S = 60.0
#: Seconds a server may take to exit after SIGTERM or SIGINT.
STOP_TIMEOUT_S = 30.0
#: Exit codes of a graceful stop, by signal: 0, or death by that same signal once the
#: shutdown is done (uvicorn re-raises the signal it caught, for process managers), or
#: 130 after Ctrl-C; never 1 (an error).
GRACEFUL_EXIT = {
    signal.SIGTERM: (0, -signal.SIGTERM),
    signal.SIGINT: (0, -signal.SIGINT, 128 + signal.SIGINT),
}


def serve_argv(data: Path, port: int, *args: str) -> list[str]:
    """The command line of ``rtt-topology serve`` on ``data`` and ``port``, run by this Python."""
    return [
        sys.executable,
        "-m",
        "rtt_topology",
        "serve",
        "--data",
        str(data),
        "--port",
        str(port),
        *args,
    ]


class ServeProcess:
    """The server in a subprocess; use as a context manager (a server still running is killed).

    Parameters
    ----------
    data
        The data directory (``--data``).
    args
        More options for ``rtt-topology serve``.
    argv
        Build the whole command from the port instead (for a server embedded in a script).
    preexec
        Run in the child before the server starts (resource limits).
    """

    def __init__(
        self,
        data: Path,
        *args: str,
        argv: Callable[[int], list[str]] | None = None,
        preexec: Callable[[], None] | None = None,
    ) -> None:
        self.data = data
        self._argv = argv or (lambda port: serve_argv(data, port, *args))
        self._preexec = preexec
        self.port = 0
        self.log = data.parent / f"{data.name}-serve.log"
        self._log_file: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # --- where it listens --------------------------------------------------------------

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The RTT base URL, as clients are given it."""
        return f"{self.root_url}/api/rtt"

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def log_text(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # --- starting ----------------------------------------------------------------------

    def start(self, timeout_s: float = START_TIMEOUT_S) -> Self:
        """Start the server and wait until ``/healthz`` answers 200."""
        for _ in range(3):
            self.port = closed_port()
            offset = self.log.stat().st_size if self.log.exists() else 0
            self._log_file = self.log.open("ab")
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            env.pop("RTT_BASE_URL", None)
            self._proc = subprocess.Popen(
                self._argv(self.port),
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=self._preexec,
            )
            if self._wait_ready(timeout_s):
                return self
            # It exited: retry only when another process took the port first.
            text = self.log_text()[offset:]
            self._close_log()
            if "address already in use" not in text.lower():
                raise RuntimeError(f"the server exited with {self.returncode}:\n{text}")
        raise RuntimeError(f"no free port after three tries:\n{self.log_text()}")

    def _wait_ready(self, timeout_s: float) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    return False
                try:
                    if http.get(f"{self.root_url}/healthz").status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"no answer on /healthz within {timeout_s:g} s:\n{self.log_text()}")

    # --- stopping, by process id -------------------------------------------------------

    def _signal(self, signum: signal.Signals, timeout_s: float) -> int:
        assert self._proc is not None, "not started"
        if self._proc.poll() is None:
            os.kill(self._proc.pid, signum)
        try:
            code = self._proc.wait(timeout_s)
        finally:
            self._close_log()
        return code

    def terminate(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """Send SIGTERM and return the exit code (the server shuts down gracefully)."""
        return self._signal(signal.SIGTERM, timeout_s)

    def interrupt(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """Send SIGINT (Ctrl-C) and return the exit code."""
        return self._signal(signal.SIGINT, timeout_s)

    def kill(self) -> int:
        """Send SIGKILL (a crash: nothing runs in the server) and return the exit code."""
        return self._signal(signal.SIGKILL, STOP_TIMEOUT_S)

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def close(self) -> None:
        """Kill the server if it still runs."""
        if self._proc is not None and self._proc.poll() is None:
            self.kill()
        self._close_log()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def wait_until(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll ``check`` every 20 ms until it is true or ``timeout_s`` passed; return the last."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
