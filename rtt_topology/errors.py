"""The exceptions rtt-topology raises.

Every exception derives from :class:`RttTopologyError`, and each subclass also
derives from the built-in exception a caller would expect, so ``except ValueError``
keeps working around our calls::

    RttTopologyError (Exception)
    ├── InputError (ValueError)           bad input that is not a file problem
    │   └── RecordError                   one record failed validation (field, reason)
    ├── LoadError (ValueError)            a file could not be read as what it claims
    │   ├── FormatError                   unknown or mismatched format
    │   └── StrictLoadError               strict load refused records or files
    ├── SourceNotFoundError (FileNotFoundError)
    │                                     a file, directory or glob matched nothing
    ├── StoreError (OSError)              the server's store could not make a write durable,
    │                                     or its directory is held by another server (path)
    └── ClientError                       talking to an RTT server failed (request, response,
        │                                 attempts)
        ├── ApiError                      an error status or {"error": ...} body (status_code,
        │                                 error)
        ├── ConnectionFailedError (ConnectionError)
        │   │                             no answer: refused, dropped, DNS/TLS, after retries
        │   └── RequestTimeoutError (TimeoutError)
        │                                 no answer within the timeout, after retries
        └── BadResponseError (ValueError) an answer that is not the expected RTT answer

Errors carry their context as attributes (``path``, ``line``, ``field``; ``request``,
``response``) so a caller can act on them without parsing the message.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ApiError",
    "BadResponseError",
    "ClientError",
    "ConnectionFailedError",
    "FormatError",
    "InputError",
    "LoadError",
    "RecordError",
    "RequestTimeoutError",
    "RttTopologyError",
    "SourceNotFoundError",
    "StoreError",
    "StrictLoadError",
]


def _where(path: str | Path | None, line: int | None, field: str | None) -> str:
    parts = []
    if path is not None:
        parts.append(str(path))
    if line is not None:
        parts.append(str(line))
    where = ":".join(parts)
    if field:
        where = f"{where}: {field}" if where else field
    return where


class RttTopologyError(Exception):
    """Base class of every error raised by rtt-topology."""


class InputError(RttTopologyError, ValueError):
    """Input that rtt-topology cannot use (a bad argument, value or record)."""


class RecordError(InputError):
    """One record failed validation.

    Parameters
    ----------
    reason
        What is wrong, in a few words (``"naive timestamp, no UTC offset"``).
    path
        The file the record came from, when known.
    line
        The line (or record position) of the record, when known.
    field
        The offending field, dotted for nested fields (``"structure.nav_count"``).
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        where = _where(path, line, field)
        super().__init__(f"{where}: {reason}" if where else reason)


class LoadError(RttTopologyError, ValueError):
    """A file could not be read at all (missing, empty, binary, truncated...).

    Parameters
    ----------
    path
        The file that failed.
    reason
        Why, in one line.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class FormatError(LoadError):
    """A file's format is unknown, or its content is not what its suffix claims."""


class StrictLoadError(LoadError):
    """A strict load met rejected records or unreadable files.

    The :class:`~rtt_topology.load.LoadReport` of the load is kept in ``report``.
    """

    def __init__(self, path: str | Path, reason: str, report: object = None) -> None:
        super().__init__(path, reason)
        self.report = report


class SourceNotFoundError(RttTopologyError, FileNotFoundError):
    """A source path, directory or glob pattern matched no file.

    Parameters
    ----------
    source
        The path or pattern as given.
    reason
        Why nothing was found.
    """

    def __init__(self, source: str | Path, reason: str = "no such file or directory") -> None:
        self.path = str(source)
        self.reason = reason
        super().__init__(f"{source}: {reason}")

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class StoreError(RttTopologyError, OSError):
    """The server's store could not make a write durable, or could not open at all.

    Raised for every request of a batch whose write or fsync failed (nothing of it
    was acknowledged), for appends to a store that is closed, and when another
    server holds the store's directory.

    Parameters
    ----------
    path
        The file or directory concerned (a segment, the store's directory).
    reason
        Why, in one line.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ClientError(RttTopologyError):
    """Talking to an RTT server failed.

    Parameters
    ----------
    message
        The whole message, naming the method and URL.
    request
        The ``httpx.Request`` sent (``None`` if none was built).
    response
        The ``httpx.Response`` received, its body read (``None`` if none came).
    attempts
        How many times the request was sent.
    """

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
        attempts: int = 1,
    ) -> None:
        self.request = request
        self.response = response
        self.attempts = attempts
        super().__init__(message)


class ApiError(ClientError):
    """The server answered with an HTTP error status or an ``{"error": ...}`` body.

    ``status_code`` is the HTTP status; ``error`` the body's error code
    (``invalid_request``, ``invalid_profile``, ``not_found``...) or ``None`` when
    the body carries none (an HTML error page, a proxy's answer).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error: str | None,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
        attempts: int = 1,
    ) -> None:
        self.status_code = status_code
        self.error = error
        super().__init__(message, request=request, response=response, attempts=attempts)


class ConnectionFailedError(ClientError, ConnectionError):
    """No answer came: connection refused or dropped, DNS or TLS failure, after retries."""


class RequestTimeoutError(ConnectionFailedError, TimeoutError):
    """No answer came within the timeout, after retries."""


class BadResponseError(ClientError, ValueError):
    """An answer that is not the expected RTT answer: not JSON, wrong shape, a redirect."""
