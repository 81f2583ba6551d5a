"""Write large synthetic beacon histories fast, for benchmarks.

Everything is computed column-wise: numpy builds the per-service schedules
(30-60 s period each, jittered, one restart for some services) and pyarrow
joins the JSON lines, so millions of lines take seconds.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rtt_topology.demo.beacons import array_bytes, beacon_lines
from rtt_topology.demo.catalog import MIN_SERVICES, catalog
from rtt_topology.demo.scenario import DEFAULT_START
from rtt_topology.demo.timeline import backend_structure, home_structure

__all__ = ["write_scaled_beacons"]

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
