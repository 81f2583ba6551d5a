"""Write beacon timelines as collector JSON Lines, with the scripted bad lines.

Lines are built column-wise with pyarrow string joins (no per-line Python), in
the upstream key order ``site, session, event, ts, structure`` and compact like
the SDKs. Each cluster file is in time order; then the malformed lines and
exact duplicates of the scripted burst are inserted, and their line numbers
recorded for the ground truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rtt_topology.demo.timeline import EVENTS, Timeline

__all__ = ["BeaconFile", "array_bytes", "beacon_lines", "build_beacon_file"]

_DAY_MS = 86_400_000
#: Lines rendered at once when writing big files.
_CHUNK = 1_000_000

#: Scripted bad lines: (cluster file, fraction of the window, kind).
#: ``dc-west`` gets the burst; ``dc-east`` a few scattered ones.
BAD_LINES: tuple[tuple[str, float, str], ...] = (
    ("dc-east", 0.20, "invalid_json"),
    ("dc-east", 0.25, "duplicate"),
    ("dc-east", 0.55, "string_count"),
    ("dc-east", 0.60, "duplicate"),
    ("dc-east", 0.92, "duplicate"),
    *(
        ("dc-west", -1.0, kind)
        for kind in (
            "invalid_json",
            "duplicate",
            "naive_ts",
            "duplicate",
            "negative_count",
            "string_count",
            "duplicate",
            "missing_site",
            "duplicate",
            "invalid_json",
            "naive_ts",
            "duplicate",
        )
    ),
)


@lru_cache(maxsize=1)
def _clock_tables() -> tuple[pa.Array, pa.Array]:
    hms = pa.array(
        [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
    )
    frac = pa.array([f".{i:03d}Z" for i in range(1000)] + ["Z"])
    return hms, frac


def ts_strings(ts_ms: np.ndarray, whole_seconds: np.ndarray) -> pa.Array:
    """Format epoch milliseconds as ``2026-01-19T15:00:00.123Z`` (or ``...:00Z``).

    Parameters
    ----------
    ts_ms
        Epoch milliseconds (int64).
    whole_seconds
        Where true, the Python SDK style without milliseconds (value truncated).

    Returns
    -------
    pyarrow.Array
        Strings.

    Examples
    --------
    >>> import numpy as np
    >>> ts_strings(np.array([1768834800123, 1768834800123]), np.array([False, True])).to_pylist()
    ['2026-01-19T15:00:00.123Z', '2026-01-19T15:00:00Z']
    """
    if len(ts_ms) == 0:
        return pa.array([], pa.string())
    hms, frac = _clock_tables()
    day = ts_ms // _DAY_MS
    first = int(day.min())
    dates = pa.array([str(np.datetime64(d, "D")) + "T" for d in range(first, int(day.max()) + 1)])
    sod = (ts_ms % _DAY_MS) // 1000
    fidx = np.where(whole_seconds, 1000, ts_ms % 1000)
    return pc.binary_join_element_wise(
        dates.take(pa.array(day - first)), hms.take(pa.array(sod)), frac.take(pa.array(fidx)), ""
    )


def beacon_lines(
    sites: list[str],
    site_idx: np.ndarray,
    sessions: pa.Array,
    event_idx: np.ndarray,
    ts_ms: np.ndarray,
    whole_seconds: np.ndarray,
    structures: list[str],
    structure_idx: np.ndarray,
) -> pa.Array:
    r"""Build beacon JSON lines (each ending with a newline) column-wise.

    Parameters
    ----------
    sites
        Site names; ``site_idx`` indexes them.
    site_idx
        Site of each line.
    sessions
        Session id of each line (already expanded).
    event_idx
        Event of each line, as an index into :data:`~rtt_topology.demo.timeline.EVENTS`.
    ts_ms
        Timestamp of each line, epoch milliseconds.
    whole_seconds
        Per line, whether the timestamp has no milliseconds.
    structures
        Compact JSON structure objects; ``structure_idx`` indexes them.
    structure_idx
        Structure of each line.

    Returns
    -------
    pyarrow.Array
        One string per beacon.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> one = np.zeros(1, dtype=np.int64)
    >>> line = beacon_lines(["auth-service"], one, pa.array(["srv-1"]), one,
    ...                     np.array([1768834800000]), np.array([True]), ['{"url":""}'], one)
    >>> print(line[0].as_py(), end="")
    {"site":"auth-service","session":"srv-1","event":"heartbeat","ts":"2026-01-19T15:00:00Z",...}
    """
    site_json = pa.array([json.dumps(s, ensure_ascii=False) for s in sites])
    event_json = pa.array([json.dumps(e) for e in EVENTS])
    session_json = pc.binary_join_element_wise('"', sessions, '"', "")
    return pc.binary_join_element_wise(
        '{"site":',
        site_json.take(pa.array(site_idx)),
        ',"session":',
        session_json,
        ',"event":',
        event_json.take(pa.array(event_idx)),
        ',"ts":"',
        ts_strings(ts_ms, whole_seconds),
        '","structure":',
        pa.array(structures).take(pa.array(structure_idx)),
        "}\n",
        "",
    )


def array_bytes(lines: pa.Array) -> bytes:
    r"""Return the concatenated UTF-8 bytes of a string array, without a Python loop.

    Parameters
    ----------
    lines
        A string array (possibly a slice) without nulls.

    Returns
    -------
    bytes
        The values back to back, as a file holds them.

    Examples
    --------
    >>> array_bytes(pa.array(["a\n", "b\n", "c\n"]).slice(1))
    b'b\nc\n'
    """
    if len(lines) == 0:
        return b""
    first = lines.offset
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=first + len(lines) + 1)
    lo, hi = int(offsets[first]), int(offsets[first + len(lines)])
    out: bytes = lines.buffers()[2].slice(lo, hi - lo).to_pybytes()
    return out


@dataclass
class BeaconFile:
    """One rendered beacon file and what was injected into it."""

    path: str
    data: bytes
    lines: int
    beacons: int
    malformed: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)


def _mutate(text: str, kind: str) -> str:
    """Break a valid beacon line the way real writers and clients do."""
    if kind == "invalid_json":
        return text[: len(text) // 2]
    record = json.loads(text)
    if kind == "naive_ts":
        record["ts"] = record["ts"].rstrip("Z")
    elif kind == "negative_count":
        record["structure"]["dom_nodes"] = -1
    elif kind == "string_count":
        record["structure"]["nav_count"] = str(record["structure"]["nav_count"])
    elif kind == "missing_site":
        del record["site"]
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def build_beacon_file(
    path: str,
    cluster: str,
    timelines: list[Timeline],
    structures: list[str],
    window: tuple[int, int],
    burst_ms: int,
    rng: np.random.Generator,
) -> BeaconFile:
    """Merge timelines into one time-ordered file and inject the scripted bad lines.

    Parameters
    ----------
    path
        Relative path recorded in the ground truth.
    cluster
        Cluster name (selects the bad lines of :data:`BAD_LINES`).
    timelines
        The timelines written to this file; the cluster heartbeat comes last.
    structures
        The structure table (compact JSON).
    window
        Window start and end, epoch milliseconds.
    burst_ms
        When the burst of bad lines of ``dc-west`` starts.
    rng
        Random stream choosing which beacons get copied or broken.

    Returns
    -------
    BeaconFile
        The bytes, line counts and the injected lines with their 1-based numbers.

    Examples
    --------
    >>> from rtt_topology.demo.scenario import DEFAULT_START, make_plan
    >>> from rtt_topology.demo.timeline import build_timelines
    >>> plan = make_plan(seed=1, hours=2, start=DEFAULT_START, services=8)
    >>> tl = build_timelines(plan)
    >>> members = [t for t in tl.services.values() if t.site.startswith("o")]
    >>> bf = build_beacon_file("east.jsonl", "dc-east", [*members, tl.clusters["dc-east"]],
    ...                        tl.structures.json, (plan.start_ms, plan.end_ms),
    ...                        plan.times["malformed_burst"], np.random.default_rng(0))
    >>> len(bf.malformed), len(bf.duplicates), bf.lines == bf.beacons + len(bf.malformed)
    (2, 3, True)
    """
    sites = [t.site for t in timelines]
    site_idx = np.concatenate([np.full(len(t.ts), i, np.int32) for i, t in enumerate(timelines)])
    ts = np.concatenate([t.ts for t in timelines])
    event = np.concatenate([t.event for t in timelines])
    structure = np.concatenate([t.structure for t in timelines])
    offsets = np.cumsum([0] + [len(t.sessions) for t in timelines])
    session = np.concatenate([t.session + offsets[i] for i, t in enumerate(timelines)])
    all_sessions = pa.array([s for t in timelines for s in t.sessions])
    whole = np.array([t.precision == "s" for t in timelines])[site_idx]
    order = np.lexsort((event, session, site_idx, ts))
    ts, site_idx, session, event = ts[order], site_idx[order], session[order], event[order]
    structure, whole = structure[order], whole[order]

    def render(rows: np.ndarray) -> pa.Array:
        return beacon_lines(
            sites,
            site_idx[rows],
            all_sessions.take(pa.array(session[rows])),
            event[rows],
            ts[rows],
            whole[rows],
            structures,
            structure[rows],
        )

    n = len(ts)
    cluster_site = len(timelines) - 1
    start, end = window
    cursor = int(np.searchsorted(ts, burst_ms))
    inserts: list[tuple[int, int, str]] = []
    texts: list[str] = []
    used: set[int] = set()
    for file_cluster, frac, kind in BAD_LINES:
        if file_cluster != cluster:
            continue
        if frac < 0:
            base = cursor + int(rng.integers(1, 6))
            cursor = base
        else:
            base = int(np.searchsorted(ts, start + int(frac * (end - start))))
        while base < n - 1 and (site_idx[base] == cluster_site or base in used):
            base += 1
        base = min(base, n - 1)
        used.add(base)
        if kind == "duplicate":
            inserts.append((base, base, kind))
        else:
            original = str(render(np.array([base]))[0].as_py()).rstrip("\n")
            texts.append(_mutate(original, kind) + "\n")
            inserts.append((base, n + len(texts) - 1, kind))
    inserts.sort(key=lambda x: x[0])
    positions = [b + 1 for b, _, _ in inserts]
    final = np.insert(np.arange(n), positions, [src for _, src, _ in inserts])
    marker = np.insert(np.full(n, -1), positions, np.arange(len(inserts)))
    line_of_insert = np.empty(len(inserts), dtype=np.int64)
    hit = np.nonzero(marker >= 0)[0]
    line_of_insert[marker[hit]] = hit + 1
    line_of_row = np.nonzero(marker < 0)[0] + 1
    bad = pa.array(texts, pa.string())
    chunks = []
    # Render in chunks: the whole file as one string array would double the memory.
    for lo in range(0, len(final), _CHUNK):
        rows = final[lo : lo + _CHUNK]
        good = rows < n
        lines = pa.concat_arrays([render(rows[good]), bad])
        pick = np.where(good, np.cumsum(good) - 1, int(good.sum()) + rows - n)
        chunks.append(array_bytes(lines.take(pa.array(pick))))
    data = b"".join(chunks)
    out = BeaconFile(path, data, len(final), n)
    for j, (base, _, kind) in enumerate(inserts):
        record = {"file": path, "line": int(line_of_insert[j]), "ts_ms": int(ts[base])}
        site = sites[int(site_idx[base])]
        if kind == "duplicate":
            out.duplicates.append({**record, "original_line": int(line_of_row[base]), "site": site})
            out.beacons += 1
        else:
            based_on = int(line_of_row[base])
            out.malformed.append({**record, "kind": kind, "site": site, "based_on_line": based_on})
    return out
