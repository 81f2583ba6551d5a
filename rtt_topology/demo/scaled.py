"""Write large synthetic beacon histories fast, for benchmarks.

Everything is computed column-wise: numpy builds the per-service schedules
(30-60 s period each, jittered, one restart for some services) and pyarrow
joins the JSON lines, so millions of lines take seconds.
:func:`write_scaled_store` writes a history straight into a history store's
layout (day-partitioned Parquet, a marker, one manifest), one day and one group of
services at a time, so a week of a datacenter takes bounded memory.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rtt_topology.demo.beacons import array_bytes, beacon_lines
from rtt_topology.demo.catalog import MIN_SERVICES, catalog
from rtt_topology.demo.scenario import DEFAULT_START
from rtt_topology.demo.timeline import backend_structure, home_structure

__all__ = ["write_scaled_beacons", "write_scaled_store"]

_CHUNK = 1_000_000


def _structures(services: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    specs = catalog(max(services, MIN_SERVICES), rng)[:services]
    texts = []
    for s in specs:
        structure = home_structure(s.name) if s.web else backend_structure(s.name, s.title)
        texts.append(json.dumps(structure, separators=(",", ":"), ensure_ascii=False))
    return [s.name for s in specs], texts


def write_scaled_beacons(
    path: str | Path,
    *,
    beacons: int,
    services: int,
    seed: int = 0,
    start: datetime = DEFAULT_START,
) -> int:
    """Write ``beacons`` beacons of ``services`` services as time-ordered JSON Lines.

    Each service beacons every 30-60 s (its own period, 4 % jitter); about a
    third restart once (new ``srv-<ms>`` session, ``startup`` event). Lines
    interleave across services in time order, as a collector writes them;
    timestamps have milliseconds (``2026-01-19T15:00:00.123Z``). Names come
    from the demo catalog (``orders-api``, then numbered copies).

    Parameters
    ----------
    path
        The ``.jsonl`` file to write (overwritten).
    beacons
        Number of lines.
    services
        Number of services (at least 1).
    seed
        Seed of the random streams.
    start
        Time of the first possible beacon, timezone-aware.

    Returns
    -------
    int
        Lines written (``beacons``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = pathlib.Path(tmp) / "b.jsonl"
    ...     write_scaled_beacons(out, beacons=1000, services=20)
    ...     len(out.read_text().splitlines())
    1000
    1000
    """
    if beacons < 0 or services < 1:
        raise ValueError("beacons must be >= 0 and services >= 1")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if beacons == 0:
        Path(path).write_bytes(b"")
        return 0
    rng = np.random.default_rng([seed, 100])
    names, structures = _structures(services, rng)
    start_ms = int(start.timestamp() * 1000)
    counts = np.full(services, beacons // services, dtype=np.int64)
    counts[: beacons % services] += 1
    svc = np.repeat(np.arange(services, dtype=np.int32), counts)
    period = rng.uniform(30_000, 60_000, services)
    phase = rng.uniform(0, period)
    steps = period[svc] * (1 + rng.uniform(-0.04, 0.04, beacons))
    total = np.cumsum(steps)
    firsts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    before = np.where(firsts > 0, total[np.maximum(firsts - 1, 0)], 0.0)
    times = start_ms + phase[svc] + (total - steps) - before[svc]
    ts = np.floor(times).astype(np.int64)
    position = np.arange(beacons) - firsts[svc]
    # About a third of the services restart once, at a random beacon of theirs.
    restart_at = np.where(
        rng.random(services) < 0.33, (rng.random(services) * counts).astype(np.int64), -1
    )
    restarted = (restart_at[svc] >= 0) & (position >= restart_at[svc]) & (restart_at[svc] > 0)
    first_start = start_ms - rng.integers(3_600_000, 7 * 86_400_000, services)
    restart_idx = firsts + np.maximum(restart_at, 0)
    restart_ms = ts[np.minimum(restart_idx, beacons - 1)]
    session_ms = np.where(restarted, restart_ms[svc], first_start[svc])
    event = ((restart_at[svc] > 0) & (position == restart_at[svc])).astype(np.int16)
    order = np.argsort(ts, kind="stable")
    whole = np.zeros(_CHUNK, dtype=bool)
    with Path(path).open("wb") as f:
        for lo in range(0, beacons, _CHUNK):
            idx = order[lo : lo + _CHUNK]
            sessions = pc.binary_join_element_wise(
                "srv-", pc.cast(pa.array(session_ms[idx]), pa.string()), ""
            )
            lines = beacon_lines(
                names,
                svc[idx],
                sessions,
                event[idx],
                ts[idx],
                whole[: len(idx)],
                structures,
                np.asarray(svc[idx]),
            )
            f.write(array_bytes(lines))
    return beacons


#: Services per Parquet part file of :func:`write_scaled_store` (about 1.4M rows a day at 60 s).
STORE_CHUNK_SERVICES = 1_000
_DAY_US = 86_400_000_000
_STORE_MARKER = {"format": "rtt-topology-store", "version": 1}
_COUNTS = ("nav_count", "main_count", "form_count", "button_count", "dom_nodes")


def write_scaled_store(
    store: str | Path,
    *,
    services: int = 10_000,
    days: int = 7,
    period_s: float = 60.0,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    collectors: int = 20,
    restart_share: float = 0.33,
    outage_share: float = 0.01,
    outage_s: float = 1800.0,
) -> int:
    """Write ``days`` days of ``services`` services beaconing every ``period_s`` into a store.

    The layout is the history store's: ``rtt-store.json`` (the marker),
    ``beacons/day=YYYY-MM-DD/part-<id>-<n>.parquet`` (rows sorted by site and
    time, one file per group of :data:`STORE_CHUNK_SERVICES` services and day) and,
    written last, the manifest ``ingests/<id>.json`` that publishes the files.
    Each service beacons every ``period_s`` (2 % jitter, its own phase) from the
    UTC midnight of ``start``; ``restart_share`` of them restart once (new session,
    a ``startup`` beacon), ``outage_share`` go silent once for ``outage_s``.
    Services report through ``collectors`` collector files (the ``source``).
    Memory is bounded by one group of services for one day.

    Parameters
    ----------
    store
        A new or empty directory.
    services, days, period_s
        The datacenter's size, the number of days and the beacon period.
    seed
        Seed of the random streams.
    start
        A moment of the first day, timezone-aware.
    collectors
        Number of collector files the services are spread over.
    restart_share, outage_share, outage_s
        Share of services that restart once; share that go silent once, and for
        how long (seconds).

    Returns
    -------
    int
        Beacons written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pyarrow.parquet as pq
    >>> root = pathlib.Path(tempfile.mkdtemp()) / "store"
    >>> write_scaled_store(root, services=20, days=2, period_s=600)
    5760
    >>> sorted(p.name for p in (root / "beacons").iterdir())
    ['day=2026-01-19', 'day=2026-01-20']
    >>> pq.read_schema(next((root / "beacons" / "day=2026-01-19").iterdir())).names[:4]
    ['site', 'session', 'event', 'ts']
    """
    if services < 1 or days < 1 or not period_s > 0 or collectors < 1:
        raise ValueError("services, days, collectors must be >= 1 and period_s > 0")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    root = Path(store)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ValueError(f"{root}: give a new or empty directory")
    for part in ("beacons", "rejects", "ingests"):
        (root / part).mkdir(parents=True, exist_ok=True)
    (root / "rtt-store.json").write_text(json.dumps(_STORE_MARKER) + "\n", encoding="utf-8")
    ingest_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)
    first_day = datetime(start.year, start.month, start.day, tzinfo=start.tzinfo).astimezone(UTC)
    plan = _store_plan(services, days, period_s, seed, first_day, collectors,
                       restart_share, outage_share, outage_s)  # fmt: skip
    parts: list[str] = []
    rows = 0
    for day in range(days):
        name = (first_day + timedelta(days=day)).strftime("%Y-%m-%d")
        folder = root / "beacons" / f"day={name}"
        folder.mkdir(exist_ok=True)
        for n, lo in enumerate(range(0, services, STORE_CHUNK_SERVICES)):
            chosen = plan["order"][lo : lo + STORE_CHUNK_SERVICES]
            table = _store_chunk(plan, chosen, day, seed)
            if table.num_rows == 0:
                continue
            path = folder / f"part-{ingest_id}-{n}.parquet"
            pq.write_table(table, path, compression="zstd")
            parts.append(str(path.relative_to(root / "beacons")))
            rows += table.num_rows
    manifest: dict[str, Any] = {
        "id": ingest_id,
        "created": datetime.now(UTC).isoformat(),
        "files": [],
        "skipped": [],
        "parts": parts,
        "rejects": None,
        "rows": rows,
        "report": {"rows": rows, "generated_by": "write_scaled_store"},
    }
    text = json.dumps(manifest, indent=1) + "\n"
    (root / "ingests" / f"{ingest_id}.json").write_text(text, encoding="utf-8")
    return rows


def _store_plan(
    services: int,
    days: int,
    period_s: float,
    seed: int,
    first_day: datetime,
    collectors: int,
    restart_share: float,
    outage_share: float,
    outage_s: float,
) -> dict[str, Any]:
    """Draw every service's name, structure, phase, restart and outage once."""
    rng = np.random.default_rng([seed, 200])
    names, texts = _structures(services, rng)
    structures = [json.loads(t) for t in texts]
    span_us = days * _DAY_US
    period_us = int(period_s * 1_000_000)
    restart = np.where(
        rng.random(services) < restart_share, rng.integers(1, span_us // period_us, services), -1
    )
    outage = np.where(rng.random(services) < outage_share, rng.integers(0, span_us, services), -1)
    return {
        "names": names,
        "order": np.argsort(np.array(names, dtype=object), kind="stable"),
        "structures": structures,
        "origin_us": int(first_day.timestamp()) * 1_000_000,
        "period_us": period_us,
        "phase_us": rng.integers(0, period_us, services),
        "restart_tick": restart,
        "outage_us": outage,
        "outage_len_us": int(outage_s * 1_000_000),
        "first_start_ms": (int(first_day.timestamp()) - rng.integers(3_600, 7 * 86_400, services))
        * 1000,
        "collector": rng.integers(0, collectors, services),
    }


def _store_chunk(plan: dict[str, Any], chosen: np.ndarray, day: int, seed: int) -> pa.Table:
    """Return the beacons of some services (sorted by name) on one day, sorted by site, ts."""
    period = plan["period_us"]
    lo_us, hi_us = day * _DAY_US, (day + 1) * _DAY_US
    phase = plan["phase_us"][chosen]
    # Tick k of a service is at phase + k * period, jittered by a function of (service,
    # k) alone: the tick falls on the same day whichever day's chunk computes it.
    first_k = (lo_us - phase) // period - 1
    ticks = int(-(-_DAY_US // period)) + 3
    k = first_k[:, None] + np.arange(ticks)[None, :]
    mix = (k * 2_654_435_761 + chosen[:, None] * 40_503 + seed * 97) % 1_000_003
    rel = phase[:, None] + k * period + ((mix / 1_000_003 - 0.5) * 0.04 * period).astype(np.int64)
    keep = (rel >= lo_us) & (rel < hi_us)
    outage = plan["outage_us"][chosen][:, None]
    keep &= ~((outage >= 0) & (rel >= outage) & (rel < outage + plan["outage_len_us"]))
    row_service = np.broadcast_to(np.arange(len(chosen))[:, None], rel.shape)[keep]
    rel, k = rel[keep], k[keep]
    service = chosen[row_service]
    # A restart at tick K: a new session from K on, whose first beacon is a startup.
    restart = plan["restart_tick"][service]
    after = (restart >= 0) & (k >= restart)
    startup = after & (k == restart)
    session_us = plan["origin_us"] + plan["phase_us"][service] + restart * period
    session_ms = np.where(after, session_us // 1000, plan["first_start_ms"][service])
    structures = plan["structures"]
    count = len(rel)
    rows = pa.array(service)

    def text(values: list[str]) -> pa.Array:
        return pa.array(values, pa.string()).take(rows)

    table = {
        "site": text(plan["names"]),
        "session": pc.binary_join_element_wise(
            "srv-", pc.cast(pa.array(session_ms), pa.string()), ""
        ),
        "event": pa.array(["heartbeat", "startup"], pa.string()).take(
            pa.array(startup.astype(np.int8))
        ),
        "ts": pa.array(plan["origin_us"] + rel, pa.timestamp("us", tz="UTC")),
        "url": text([s["url"] for s in structures]),
        "title": text([s["title"] for s in structures]),
    }
    for name in _COUNTS:
        values = np.array([int(s[name]) for s in structures], dtype=np.int64)
        table[name] = pa.array(values[service], pa.int64())
    collectors = int(plan["collector"].max()) + 1
    table["extra"] = pa.nulls(count, pa.string())
    table["source"] = pa.array(
        [f"collector-{c:02d}.jsonl" for c in range(collectors)], pa.string()
    ).take(pa.array(plan["collector"][service]))
    table["line"] = pa.array(np.arange(1, count + 1, dtype=np.int64))
    table["received_at"] = pa.nulls(count, pa.timestamp("us", tz="UTC"))
    return pa.table(table)
