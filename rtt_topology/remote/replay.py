"""Replay a beacon history and its profiles into a running RTT server, in batches.

:func:`replay_history` reads beacon files with :func:`~rtt_topology.load.read_beacons`
(so exactly the records the offline analysis sees: quarantined records and exact
duplicates stay behind), registers the profiles (``POST /profile/{site}``), then posts
the beacons in time order as JSON arrays to ``POST /beacons``, the batch route of
``rtt-topology serve`` (ours: upstream has no batch route). A server that stores them
holds the same history, so ``rtt-topology report --beacons DIR`` on its data directory
finds the same incidents as on the files, except those about the files themselves
(quarantined records).

Replay into a fresh data directory: a profile that differs from the one a server
holds makes it store a ``config_change`` beacon stamped with its own clock, which
extends the history to now. The server stamps each beacon with its clock as
``received_at`` too, so the clock skew (``ts - received_at``) of replayed beacons
measures how old the history is, not the services' clocks.

Each table row becomes the beacon it was read from (:func:`beacon_records`, the inverse
of the loader's flattening): ``site``, ``session``, ``event``, ``ts`` (ISO 8601 UTC
with ``Z``), ``structure`` with the keys that were present, and the unknown keys
kept in ``extra`` back in their places.

Batches hold at most ``batch_size`` beacons and :data:`MAX_BATCH_BYTES` bytes. A batch
is sent again after no answer, 429 or 5xx (501 and 505 aside), waiting as the client
does (:func:`~rtt_topology.remote.core.backoff_delay`: the answer's ``Retry-After`` or
an exponential backoff). Replaying twice is safe: the loader collapses exact duplicates.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import pandas as pd

from rtt_topology._version import __version__
from rtt_topology.columns import COUNT_COLUMNS
from rtt_topology.errors import (
    ApiError,
    BadResponseError,
    ConnectionFailedError,
    InputError,
    RequestTimeoutError,
)
from rtt_topology.load import read_beacons, read_profiles
from rtt_topology.load.sources import Source
from rtt_topology.remote.core import (
    backoff_delay,
    check_settings,
    prepare_request,
    resolve_base_url,
    retryable_status,
)

__all__ = [
    "BATCH_ROUTE",
    "MAX_BATCH_BYTES",
    "ReplayReject",
    "ReplayResult",
    "beacon_records",
    "replay_beacons",
    "replay_history",
]

#: The batch route, under the base URL (ours).
BATCH_ROUTE: Final = "/beacons"
#: Most bytes of one batch body: half the server's 16 MiB limit.
MAX_BATCH_BYTES: Final = 8 * 2**20

_STRUCTURE_STRINGS: Final = ("url", "title")
_RETRY_ERRORS: Final = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True, slots=True)
class ReplayReject:
    """A beacon the server refused: where it was read, and the server's field and reason."""

    source: str
    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.field or 'record'}: {self.reason}"


@dataclass
class ReplayResult:
    """What a replay sent and what the server answered.

    ``sent == accepted + rejected``; ``read == sent + quarantined + duplicates`` when
    the history was read from files (``read``, ``quarantined`` and ``duplicates`` are
    the loader's counts).
    """

    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    rejects: list[ReplayReject] = field(default_factory=list)
    batches: int = 0
    profiles: int = 0
    read: int = 0
    quarantined: int = 0
    duplicates: int = 0
    seconds: float = 0.0

    @property
    def beacons_per_s(self) -> float:
        """Beacons accepted per second of the whole replay."""
        return self.accepted / self.seconds if self.seconds > 0 else math.nan


def _iso(ts: pd.Timestamp) -> str:
    # Whole seconds as upstream's Python SDK writes them; finer digits only when present.
    utc = ts.tz_convert("UTC")
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.nanosecond:
        text += f".{utc.microsecond:06d}{utc.nanosecond:03d}"
    elif utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def _present(value: Any) -> bool:
    return (
        value is not None
        and value is not pd.NA
        and not (isinstance(value, float) and math.isnan(value))
    )


def beacon_records(beacons: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """Yield each row of a beacon table as the beacon it was read from, in row order.

    The inverse of the loader's flattening: the ``structure`` columns that are not
    null go back under ``structure`` (with the unknown structure keys kept in
    ``extra["structure"]``), the other unknown keys of ``extra`` go back at the top
    level, and ``ts`` is written in ISO 8601 UTC with ``Z`` (fraction digits only
    when the instant has them). ``source`` and ``line`` are left out.

    Parameters
    ----------
    beacons
        A beacon table (:mod:`rtt_topology.columns`).

    Yields
    ------
    dict
        One JSON-ready beacon per row.

    Examples
    --------
    >>> from rtt_topology.load import beacons_from_records
    >>> table = beacons_from_records([
    ...     {"site": "auth", "session": "s1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z",
    ...      "structure": {"url": "internal://auth", "dom_nodes": 0, "theme": "dark"}, "zone": 2},
    ... ]).beacons
    >>> next(beacon_records(table))  # doctest: +NORMALIZE_WHITESPACE
    {'site': 'auth', 'session': 's1', 'event': 'heartbeat', 'ts': '2026-01-19T15:00:00Z',
     'structure': {'url': 'internal://auth', 'dom_nodes': 0, 'theme': 'dark'}, 'zone': 2}
    """
    names = ("site", "session", "event", "ts", *_STRUCTURE_STRINGS, *COUNT_COLUMNS, "extra")
    columns = [beacons[name].tolist() for name in names]
    for values in zip(*columns, strict=True):
        row = dict(zip(names, values, strict=True))
        record: dict[str, Any] = {
            "site": row["site"],
            "session": row["session"],
            "event": row["event"],
            "ts": _iso(row["ts"]),
        }
        structure: dict[str, Any] = {}
        for name in (*_STRUCTURE_STRINGS, *COUNT_COLUMNS):
            value = row[name]
            if _present(value):
                structure[name] = int(value) if name in COUNT_COLUMNS else value
        extra = json.loads(row["extra"]) if _present(row["extra"]) else {}
        nested = extra.pop("structure", None)
        if isinstance(nested, Mapping):
            structure.update(nested)
        if structure:
            record["structure"] = structure
        record.update(extra)
        yield record


def _batches(
    records: Sequence[dict[str, Any]], batch_size: int
) -> Iterator[tuple[int, list[bytes]]]:
    """Yield ``(offset, encoded records)`` within ``batch_size`` and :data:`MAX_BATCH_BYTES`."""
    chunk: list[bytes] = []
    start, size = 0, 2
    for index, record in enumerate(records):
        encoded = json.dumps(
            record, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")
        if chunk and (len(chunk) >= batch_size or size + len(encoded) + 1 > MAX_BATCH_BYTES):
            yield start, chunk
            start, chunk, size = index, [], 2
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        yield start, chunk


class _Poster:
    """POST JSON bodies with the client's retry policy; return the answer's JSON object."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        retries: int,
        backoff_s: float,
        timeout_s: float,
        sleep: Callable[[float], None],
    ) -> None:
        self.http = http
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.sleep = sleep

    def post(self, url: str, content: bytes, what: str) -> dict[str, Any]:
        where = f"POST {url} ({what})"
        attempt = 0
        while True:
            attempt += 1
            request = self.http.build_request(
                "POST", url, content=content, headers={"content-type": "application/json"}
            )
            try:
                response = self.http.send(request)
            except _RETRY_ERRORS as exc:
                if attempt > self.retries:
                    tried = f" ({attempt} attempts)" if attempt > 1 else ""
                    if isinstance(exc, httpx.TimeoutException):
                        raise RequestTimeoutError(
                            f"{where}: no answer within {self.timeout_s:g} s{tried}",
                            request=request,
                            attempts=attempt,
                        ) from exc
                    raise ConnectionFailedError(
                        f"{where}: {exc or type(exc).__name__}{tried}",
                        request=request,
                        attempts=attempt,
                    ) from exc
                self.sleep(backoff_delay(attempt, self.backoff_s, None))
                continue
            if retryable_status(response.status_code) and attempt <= self.retries:
                self.sleep(backoff_delay(attempt, self.backoff_s, response))
                continue
            return self._answer(where, request, response, attempt)

    @staticmethod
    def _answer(
        where: str, request: httpx.Request, response: httpx.Response, attempts: int
    ) -> dict[str, Any]:
        try:
            data = response.json()
        except (ValueError, UnicodeDecodeError):
            data = None
        if response.status_code >= 400:
            code = data.get("error") if isinstance(data, dict) else None
            reason = data.get("reason") if isinstance(data, dict) else None
            detail = ": ".join(str(p) for p in (code, reason) if p) or response.reason_phrase
            raise ApiError(
                f"{where}: HTTP {response.status_code} {detail}",
                status_code=response.status_code,
                error=code if isinstance(code, str) else None,
                request=request,
                response=response,
                attempts=attempts,
            )
        if not isinstance(data, dict) or data.get("status") != "ok":
            raise BadResponseError(
                f"{where}: HTTP {response.status_code}: expected a JSON object with "
                f'"status": "ok", got {response.text[:200]!r}',
                request=request,
                response=response,
                attempts=attempts,
            )
        return data


def _count(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadResponseError(f"{where}: the answer has no count {key!r}: {dict(data)!r}")
    return value


def replay_beacons(
    beacons: pd.DataFrame,
    base_url: str | None = None,
    *,
    profiles: Mapping[str, object] | None = None,
    token: str | None = None,
    batch_size: int = 2000,
    timeout_s: float = 30.0,
    retries: int = 5,
    backoff_s: float = 0.5,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayResult:
    """Post a beacon table (and profiles) to an RTT server that has the batch route.

    Parameters
    ----------
    beacons
        A beacon table; its rows are sent in ``ts`` order (stable), each as
        :func:`beacon_records` writes it.
    base_url
        The server's RTT base URL (``http://127.0.0.1:8080/api/rtt``); default
        ``$RTT_BASE_URL``.
    profiles
        Profiles by site (dicts or :class:`~rtt_topology.schemas.Profile`), registered
        before the beacons.
    token
        Sent as ``Authorization: Bearer <token>`` (a server started with ``--token-file``).
    batch_size
        Most beacons per request.
    timeout_s, retries, backoff_s
        As for :class:`~rtt_topology.remote.client.RTTClient`.
    transport
        An httpx transport (``httpx.MockTransport`` in tests).
    sleep
        What waits between attempts.

    Returns
    -------
    ReplayResult
        Counts; ``rejects`` name each refused beacon by its ``source`` and ``line``.

    Raises
    ------
    ClientError
        When a request fails after its retries (what was acknowledged before stays stored).

    Examples
    --------
    >>> import json, httpx
    >>> from rtt_topology.load import beacons_from_records
    >>> def server(request):
    ...     sent = json.loads(request.content)
    ...     return httpx.Response(200, json={"status": "ok", "accepted": len(sent), "rejected": 0})
    >>> table = beacons_from_records([{"site": "a", "session": "s", "event": "startup",
    ...                                "ts": "2026-01-19T15:00:00Z"}]).beacons
    >>> result = replay_beacons(table, "http://rtt.test/api/rtt",
    ...                         transport=httpx.MockTransport(server))
    >>> (result.sent, result.accepted, result.batches)
    (1, 1, 1)
    """
    check_settings(timeout_s, retries, backoff_s)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be an integer >= 1, not {batch_size!r}")
    base = resolve_base_url(base_url)
    headers = {"accept": "application/json", "user-agent": f"rtt-topology/{__version__}"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    ordered = beacons.sort_values("ts", kind="stable") if len(beacons) else beacons
    records = list(beacon_records(ordered))
    sources = ordered["source"].astype(str).tolist() if len(ordered) else []
    lines = ordered["line"].tolist() if len(ordered) else []
    result = ReplayResult()
    started = time.perf_counter()
    with httpx.Client(
        timeout=httpx.Timeout(timeout_s), transport=transport, headers=headers,
        follow_redirects=False,
    ) as http:  # fmt: skip
        poster = _Poster(http, retries=retries, backoff_s=backoff_s, timeout_s=timeout_s,
                         sleep=sleep)  # fmt: skip
        for site, profile in (profiles or {}).items():
            prepared = prepare_request("set_profile", profile, site=site, base_url=base)
            assert prepared.content is not None
            poster.post(prepared.url, prepared.content, f"profile of {site}")
            result.profiles += 1
        for offset, chunk in _batches(records, batch_size):
            what = (
                f"beacons {offset + 1}-{offset + len(chunk)} from {sources[offset]}:{lines[offset]}"
            )
            data = poster.post(base + BATCH_ROUTE, b"[" + b",".join(chunk) + b"]", what)
            accepted = _count(data, "accepted", what)
            rejected = _count(data, "rejected", what)
            if accepted + rejected != len(chunk):
                raise BadResponseError(
                    f"POST {base}{BATCH_ROUTE} ({what}): accepted {accepted} + rejected "
                    f"{rejected} != {len(chunk)} sent"
                )
            for item in data.get("rejects") or ():
                index = item.get("index") if isinstance(item, Mapping) else None
                if isinstance(index, int) and 0 <= index < len(chunk):
                    result.rejects.append(ReplayReject(
                        sources[offset + index], int(lines[offset + index]),
                        item.get("field"), str(item.get("reason")),
                    ))  # fmt: skip
            result.sent += len(chunk)
            result.accepted += accepted
            result.rejected += rejected
            result.batches += 1
    result.seconds = time.perf_counter() - started
    return result


def replay_history(
    beacons: Source,
    base_url: str | None = None,
    *,
    profiles: Source | None = None,
    token: str | None = None,
    batch_size: int = 2000,
    timeout_s: float = 30.0,
    retries: int = 5,
    transport: httpx.BaseTransport | None = None,
) -> ReplayResult:
    r"""Read beacon files (and profiles) and replay them into a running RTT server.

    Parameters
    ----------
    beacons
        Beacon files, directories or globs, as for :func:`~rtt_topology.load.read_beacons`.
    base_url
        The server's RTT base URL; default ``$RTT_BASE_URL``.
    profiles
        Profile files, directories or globs (:func:`~rtt_topology.load.read_profiles`).
    token, batch_size, timeout_s, retries, transport
        As for :func:`replay_beacons`.

    Returns
    -------
    ReplayResult
        With the loader's ``read``, ``quarantined`` and ``duplicates`` counts.

    Examples
    --------
    >>> import httpx, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "b.jsonl").write_text(
    ...     '{"site": "a", "session": "s", "event": "startup", "ts": "2026-01-19T15:00:00Z"}\n'
    ...     'not json\n')
    >>> ok = httpx.MockTransport(lambda r: httpx.Response(
    ...     200, json={"status": "ok", "accepted": 1, "rejected": 0}))
    >>> result = replay_history(folder, "http://rtt.test/api/rtt", transport=ok)
    >>> (result.read, result.quarantined, result.sent, result.accepted)
    (2, 1, 1, 1)
    """
    load = read_beacons(beacons)
    found = read_profiles(profiles).profiles if profiles is not None else None
    result = replay_beacons(
        load.beacons,
        base_url,
        profiles=found,
        token=token,
        batch_size=batch_size,
        timeout_s=timeout_s,
        retries=retries,
        transport=transport,
    )
    result.read = load.report.read
    result.quarantined = load.report.rejected
    result.duplicates = load.report.duplicates
    return result
