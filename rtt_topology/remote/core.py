"""Build RTT requests, read RTT answers and decide retries: what both clients share.

The public face is :mod:`rtt_topology.remote.client`; this module holds everything that
does not depend on sending synchronously or asynchronously, so the two clients
differ only in how they send and sleep.

The exceptions are defined in :mod:`rtt_topology.errors` and re-exported here.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from rtt_topology.errors import (
    ApiError,
    BadResponseError,
    ClientError,
    ConnectionFailedError,
    InputError,
    RequestTimeoutError,
)
from rtt_topology.schemas import Profile

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "MAX_DELAY_S",
    "Ack",
    "ApiError",
    "BadResponseError",
    "ClientError",
    "ConnectionFailedError",
    "DiagnosticsAnswer",
    "NotAvailable",
    "PreparedRequest",
    "ProfileAnswer",
    "RequestTimeoutError",
    "prepare_request",
    "resolve_base_url",
]

logger = logging.getLogger("rtt_topology.remote.client")

#: Upstream's base URL, used when neither an argument nor ``RTT_BASE_URL`` gives one.
DEFAULT_BASE_URL: Final = "https://www.triadicframeworks.org/api/rtt"
#: The environment variable that overrides the default base URL (ours, not upstream's).
BASE_URL_ENV: Final = "RTT_BASE_URL"
#: Cap on one wait between attempts, backoff or ``Retry-After``, in seconds.
MAX_DELAY_S: Final = 30.0
#: Jitter: each backoff is stretched by a random factor in ``[1, 1 + JITTER)``.
JITTER: Final = 0.1
#: How much of a body an error message quotes.
SNIPPET_CHARS: Final = 200

Endpoint = Literal["beacon", "get_profile", "set_profile", "validate", "corridor", "topology"]
_ROUTES: Final[dict[str, tuple[Literal["GET", "POST"], str]]] = {
    "beacon": ("POST", "/beacon"),
    "get_profile": ("GET", "/profile/{site}"),
    "set_profile": ("POST", "/profile/{site}"),
    "validate": ("POST", "/validate"),
    "corridor": ("POST", "/corridor"),
    "topology": ("POST", "/topology"),
}
_RANDOM = secrets.SystemRandom()


# --- answers ---------------------------------------------------------------------------


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Ack(_Answer):
    """``{"status": "ok"}``: a beacon or a profile was accepted."""

    status: Literal["ok"] = "ok"


class NotAvailable(_Answer):
    """``{"status": "not_available", "message": ...}``: the validator is inactive.

    A normal answer of the reserved diagnostics endpoints, not an error; only
    ``status`` is stable, ``message`` differs between servers.
    """

    status: Literal["not_available"] = "not_available"
    message: str | None = None


class DiagnosticsAnswer(_Answer):
    """Any other answer of a diagnostics endpoint: every key is kept (``model_extra``).

    Upstream publishes no answer shape for an active validator yet; this keeps the
    client working the day one answers.
    """

    status: str | None = None


class ProfileAnswer(_Answer):
    """``GET /profile/{site}``: the site and its profile, ``None`` when none is registered."""

    site: str
    profile: Profile | None


# --- requests --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """What a client method sends: method, absolute URL, JSON body and its bytes."""

    endpoint: Endpoint
    method: Literal["GET", "POST"]
    url: str
    body: dict[str, Any] | None
    content: bytes | None

    def describe(self) -> str:
        """Return ``METHOD URL`` and the body as indented JSON, for dry runs and logs."""
        head = f"{self.method} {self.url}"
        if self.body is None:
            return head
        return head + "\n" + json.dumps(self.body, indent=2, ensure_ascii=False)


def resolve_base_url(base_url: str | None = None) -> str:
    """Return the base URL to use: the argument, else ``$RTT_BASE_URL``, else upstream's.

    The URL must be ``http`` or ``https`` with a host and no query or fragment; a
    trailing ``/`` is dropped.

    Raises
    ------
    InputError
        If the URL is not usable.

    Examples
    --------
    >>> resolve_base_url("http://127.0.0.1:3000/api/rtt/")
    'http://127.0.0.1:3000/api/rtt'
    """
    source = "base URL"
    if base_url is None:
        base_url = os.environ.get(BASE_URL_ENV) or None
        source = BASE_URL_ENV
    if base_url is None:
        return DEFAULT_BASE_URL
    try:
        parts = urlsplit(base_url.strip())
    except ValueError as exc:
        raise InputError(f"{source} {base_url!r}: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{source} {base_url!r}: expected http(s)://host[:port][/path]")
    if parts.query or parts.fragment:
        raise InputError(f"{source} {base_url!r}: no query or fragment allowed")
    return base_url.strip().rstrip("/")


def quote_site(site: str) -> str:
    """Percent-encode a site as one path segment (``/``, spaces, unicode, ``.``/``..``)."""
    if not isinstance(site, str) or not site:
        raise InputError("site must be a non-empty string")
    if site in (".", ".."):
        # A bare dot segment would be removed by URL normalisation.
        return site.replace(".", "%2E")
    return quote(site, safe="")


def prepare_request(
    endpoint: Endpoint,
    payload: object = None,
    *,
    site: str | None = None,
    base_url: str | None = None,
) -> PreparedRequest:
    """Build the request a client method sends, without sending it.

    Parameters
    ----------
    endpoint
        The client method: ``beacon``, ``get_profile``, ``set_profile``,
        ``validate``, ``corridor`` or ``topology``.
    payload
        The body (not for ``get_profile``): a mapping or one of our pydantic models.
    site
        The site, for ``get_profile`` and ``set_profile``.
    base_url
        As for :func:`resolve_base_url`.

    Returns
    -------
    PreparedRequest

    Raises
    ------
    InputError
        On an unknown endpoint, a missing site or a body that is not a JSON object.

    Examples
    --------
    >>> r = prepare_request("get_profile", site="a/b c", base_url="http://rtt.test/api/rtt")
    >>> (r.method, r.url, r.body)
    ('GET', 'http://rtt.test/api/rtt/profile/a%2Fb%20c', None)
    >>> prepare_request("validate", {"flows": []}, base_url="http://rtt.test").content
    b'{"flows":[]}'
    """
    route = _ROUTES.get(endpoint)
    if route is None:
        raise InputError(f"unknown endpoint {endpoint!r}: use one of {', '.join(_ROUTES)}")
    method, path = route
    if "{site}" in path:
        if site is None:
            raise InputError(f"{endpoint} needs a site")
        path = path.replace("{site}", quote_site(site))
    url = resolve_base_url(base_url) + path
    if method == "GET":
        return PreparedRequest(endpoint, method, url, None, None)
    body = body_of(payload, endpoint)
    try:
        content = json.dumps(
            body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise InputError(f"{endpoint} body is not JSON-ready: {exc}") from exc
    return PreparedRequest(endpoint, method, url, body, content)


def body_of(payload: object, endpoint: str) -> dict[str, Any]:
    """Return a payload as a JSON-ready dict (models serialised the way upstream reads them)."""
    from pydantic_core import PydanticSerializationError, to_jsonable_python

    data: object
    if isinstance(payload, Profile):
        data = payload.to_dict()
    elif isinstance(payload, BaseModel):
        to_body = getattr(payload, "to_body", None)
        if callable(to_body):
            data = to_body()
        else:
            data = payload.model_dump(mode="json", by_alias=True, exclude_unset=True)
    elif isinstance(payload, Mapping):
        try:
            data = to_jsonable_python(dict(payload))
        except PydanticSerializationError as exc:
            raise InputError(f"{endpoint} body is not JSON-ready: {exc}") from exc
    else:
        raise InputError(
            f"{endpoint} body must be a JSON object (a mapping or a model), "
            f"not {type(payload).__name__}"
        )
    if not isinstance(data, dict):
        raise InputError(f"{endpoint} body must be a JSON object, not {type(data).__name__}")
    return data


# --- answers: checking and reading -----------------------------------------------------


def _snippet(content: bytes) -> str:
    text = " ".join(content.decode("utf-8", errors="replace").split())
    if len(text) > SNIPPET_CHARS:
        text = text[:SNIPPET_CHARS] + f"... ({len(content)} bytes)"
    return repr(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode(content: bytes) -> tuple[Any, str | None]:
    if not content.strip():
        return None, "empty body"
    try:
        return json.loads(content, parse_constant=_reject_constant), None
    except (ValueError, UnicodeDecodeError):
        return None, f"answer is not JSON: {_snippet(content)}"


def read_body(
    prepared: PreparedRequest,
    request: httpx.Request,
    response: httpx.Response,
    attempts: int,
) -> dict[str, Any]:
    """Return the answer's JSON object, or raise :class:`ApiError` / :class:`BadResponseError`."""
    where = f"{prepared.method} {prepared.url}"
    tried = f" (after {attempts} attempts)" if attempts > 1 else ""
    status = response.status_code
    data, problem = _decode(response.content)
    error_code = data.get("error") if isinstance(data, dict) else None
    if status >= 400 or error_code is not None:
        code = error_code if isinstance(error_code, str) else None
        if code is not None:
            detail = code
        elif response.content.strip():
            detail = f"{response.reason_phrase}: {_snippet(response.content)}"
        else:
            detail = response.reason_phrase
        raise ApiError(
            f"{where}: HTTP {status} {detail}".rstrip() + tried,
            status_code=status,
            error=code,
            request=request,
            response=response,
            attempts=attempts,
        )
    if not 200 <= status < 300:
        location = response.headers.get("location")
        problem = f"unexpected answer{f' (to {location})' if location else ''}"
    elif problem is None and not isinstance(data, dict):
        problem = (
            f"answer is a JSON {type(data).__name__}, not an object: {_snippet(response.content)}"
        )
    if problem is not None:
        raise BadResponseError(
            f"{where}: HTTP {status}: {problem}{tried}",
            request=request,
            response=response,
            attempts=attempts,
        )
    assert isinstance(data, dict)
    return data


@dataclass(frozen=True, slots=True)
class Exchange:
    """One finished request: what was sent, what came back, the decoded JSON object."""

    prepared: PreparedRequest
    request: httpx.Request
    response: httpx.Response
    attempts: int
    data: dict[str, Any]

    def bad(self, problem: str) -> BadResponseError:
        """Return a :class:`BadResponseError` about this exchange."""
        return BadResponseError(
            f"{self.prepared.method} {self.prepared.url}: HTTP {self.response.status_code}: "
            f"{problem}: {_snippet(self.response.content)}",
            request=self.request,
            response=self.response,
            attempts=self.attempts,
        )


def read_ack(exchange: Exchange) -> Ack:
    """Read ``{"status": "ok"}``."""
    if exchange.data.get("status") != "ok":
        raise exchange.bad('expected {"status": "ok"}')
    return Ack.model_validate(exchange.data)


def read_profile(exchange: Exchange) -> ProfileAnswer:
    """Read ``{"site": ..., "profile": {...} | null}``."""
    try:
        return ProfileAnswer.model_validate(exchange.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise exchange.bad(f"not a profile answer ({where}: {first['msg']})") from exc


def read_diagnostics(exchange: Exchange) -> NotAvailable | DiagnosticsAnswer:
    """Read a diagnostics answer: :class:`NotAvailable` or any other JSON object."""
    status = exchange.data.get("status")
    if status == "not_available":
        message = exchange.data.get("message")
        if message is not None and not isinstance(message, str):
            raise exchange.bad("message is not a string")
        return NotAvailable.model_validate(exchange.data)
    if status is not None and not isinstance(status, str):
        raise exchange.bad("status is not a string")
    return DiagnosticsAnswer.model_validate(exchange.data)


# --- retries ---------------------------------------------------------------------------

# Worth another attempt: no answer came, or the connection broke before one did.
_RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def retryable_status(status: int) -> bool:
    """Tell whether an answer with this status is worth another attempt.

    429 and 5xx, except 501 and 505, which say the server will never do it.
    """
    return status == 429 or (500 <= status <= 599 and status not in (501, 505))


def retry_after_s(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header: seconds or an HTTP date; ``None`` if absent or bad.

    Examples
    --------
    >>> retry_after_s("2")
    2.0
    >>> retry_after_s("Wed, 21 Oct 2015 07:28:05 GMT",
    ...               now=datetime(2015, 10, 21, 7, 28, tzinfo=UTC))
    5.0
    >>> retry_after_s("soon") is None
    True
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, backoff_s: float, response: httpx.Response | None) -> float:
    """Seconds to wait after the ``attempt``-th failed attempt (1-based).

    ``backoff_s * 2 ** (attempt - 1)`` stretched by up to 10% of jitter, or the
    answer's ``Retry-After`` when it has one; never more than :data:`MAX_DELAY_S`.
    """
    after = retry_after_s(response.headers.get("retry-after")) if response is not None else None
    if after is None:
        after = backoff_s * 2 ** (attempt - 1) * (1.0 + JITTER * _RANDOM.random())
    return min(after, MAX_DELAY_S)


class Attempts:
    """Count the attempts of one request and decide, after each, whether to retry."""

    def __init__(
        self,
        prepared: PreparedRequest,
        request: httpx.Request,
        *,
        retries: int,
        backoff_s: float,
        timeout_s: float,
    ) -> None:
        self.prepared = prepared
        self.request = request
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.count = 0

    def begin(self) -> None:
        """Count one more attempt."""
        self.count += 1

    def after_response(self, response: httpx.Response) -> float | None:
        """Return the wait before retrying, or ``None`` when the answer is final."""
        if not retryable_status(response.status_code) or self.count > self.retries:
            return None
        delay = backoff_delay(self.count, self.backoff_s, response)
        self._log(f"HTTP {response.status_code}", delay)
        return delay

    def after_error(self, exc: httpx.HTTPError) -> float:
        """Return the wait before retrying, or raise our error for ``exc``."""
        if isinstance(exc, _RETRY_ERRORS) and self.count <= self.retries:
            delay = backoff_delay(self.count, self.backoff_s, None)
            self._log(_reason(exc), delay)
            return delay
        raise self.error_for(exc) from exc

    def exchange(self, response: httpx.Response) -> Exchange:
        """Check the final answer and return it with its decoded JSON object."""
        data = read_body(self.prepared, self.request, response, self.count)
        return Exchange(self.prepared, self.request, response, self.count, data)

    def error_for(self, exc: httpx.HTTPError) -> ClientError:
        """Translate an httpx exception into ours."""
        where = f"{self.prepared.method} {self.prepared.url}"
        tried = f" ({self.count} attempts)" if self.count > 1 else ""
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeoutError(
                f"{where}: no answer within {self.timeout_s:g} s{tried}",
                request=self.request,
                attempts=self.count,
            )
        if isinstance(exc, httpx.TransportError):
            return ConnectionFailedError(
                f"{where}: {_reason(exc)}{tried}", request=self.request, attempts=self.count
            )
        # DecodingError and the like: an answer came, but it cannot be read.
        return BadResponseError(
            f"{where}: {_reason(exc)}{tried}", request=self.request, attempts=self.count
        )

    def _log(self, reason: str, delay: float) -> None:
        logger.info(
            "%s %s: %s; retrying in %.2f s (attempt %d of %d)",
            self.prepared.method,
            self.prepared.url,
            reason,
            delay,
            self.count + 1,
            self.retries + 1,
        )


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def check_settings(timeout_s: float, retries: int, backoff_s: float) -> None:
    """Refuse timeouts, retry counts and backoffs that make no sense."""
    if isinstance(timeout_s, bool) or not (math.isfinite(timeout_s) and timeout_s > 0):
        raise InputError(f"timeout_s must be a positive number of seconds, not {timeout_s!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InputError(f"retries must be an integer >= 0, not {retries!r}")
    if isinstance(backoff_s, bool) or not (math.isfinite(backoff_s) and backoff_s >= 0):
        raise InputError(f"backoff_s must be a number of seconds >= 0, not {backoff_s!r}")
