"""Write a noisy beacon history with known incidents, to measure what the analysis finds.

The demo datacenter (:func:`~rtt_topology.demo.generate_demo`) is tidy: each
file in time order, a 4 % jitter. Real collectors are not. The history written
here is what a realistic week looks like, with every incident written down:

- heartbeats every 30-60 s (seeded per service), each interval ``P * (1 + u)``
  with ``u`` uniform in ``[-0.15, 0.15]``; Python SDK services stamp whole seconds;
- several collector files (``collector-<x>.jsonl``), each only roughly in time
  order: a line moves up to :data:`SHUFFLE_LINES` places from its sorted place;
- 0.5 % of the beacons written twice (an SDK retry), a few lines later;
- a few malformed lines in one file (a cut line, a naive timestamp, a negative
  count): one ``quarantined_records`` incident;
- noise that is *not* an incident: deploys (``shutdown`` then ``startup`` of a
  new session within 40 s), ``config_change`` beacons, one service whose clock
  runs :data:`CLOCK_AHEAD_S` seconds ahead, one that declares
  ``heartbeat_interval_s: 300`` in its profile and keeps it, and the callers of
  the crashed service, which stay healthy;
- the incidents of the truth table (:data:`TRUTH_COLUMNS`): an ``outage`` (a
  crash, back with a new session), a ``restart_storm`` (a crash loop with growing
  back-off), an ``intermittent`` service (a process that hangs four times, a few
  minutes each, and resumes its session), a ``planned_stop`` (``shutdown``,
  back after a while), a ``cadence_change`` (the period becomes 3.3 times longer
  and stays so), a ``structural_drift`` (a website's pages redesigned) and a
  ``collector_gap`` (every service of one collector file silent together for
  :data:`COLLECTOR_GAP_S` seconds: the beacons were sent, the collector lost them).

The truth ``start`` is the instant the incident began (the crash, the first
hang, the shutdown, the period change, the redesign, the collector's failure),
``end`` when it ended (NaT when it lasts to the end of the window), and
``period_s`` the service's heartbeat period before it: the tolerance of
:func:`~rtt_topology.demo.accuracy.score_incidents`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rtt_topology.demo.catalog import ServiceSpec, catalog
from rtt_topology.demo.collector import (
    DUPLICATE_RATE,
    SHUFFLE_LINES,
    collector_lines,
    render,
    stamp,
)
from rtt_topology.demo.runner import JITTER, PAGES, Process, add_visits, page_structure
from rtt_topology.demo.scenario import DEFAULT_START
from rtt_topology.errors import InputError

__all__ = [
    "CLOCK_AHEAD_S",
    "COLLECTOR_GAP_S",
    "DECLARED_PERIOD_S",
    "DUPLICATE_RATE",
    "JITTER",
    "MIN_SERVICES",
    "SHUFFLE_LINES",
    "TRUTH_COLUMNS",
    "NoisyHistory",
    "read_truth",
    "write_noisy_history",
]

#: How far ahead the skewed service's clock runs, seconds.
CLOCK_AHEAD_S = 90
#: The declared period of the slow-beaconing service, seconds.
DECLARED_PERIOD_S = 300
#: How long the collector gap lasts, seconds.
COLLECTOR_GAP_S = 1200
#: Fewest services: one per role, the crashed service's callers, the rest healthy.
MIN_SERVICES = 16
#: Columns of the truth table.
TRUTH_COLUMNS: tuple[str, ...] = ("kind", "sites", "start", "end", "period_s", "detail")
#: Where each incident starts, as a fraction of the window.
_AT = {
    "intermittent": 0.15,
    "outage": 0.30,
    "recovery": 0.50,
    "structural_drift": 0.40,
    "planned_stop": 0.45,
    "planned_restart": 0.58,
    "restart_storm": 0.62,
    "cadence_change": 0.70,
    "collector_gap": 0.80,
}
_SLOWDOWN = 10 / 3
_GAP_MEMBERS = 4


@dataclass(frozen=True)
class NoisyHistory:
    """What :func:`write_noisy_history` wrote: the files and the truth table."""

    directory: Path
    beacon_files: list[Path]
    profiles_file: Path
    truth_file: Path
    truth: pd.DataFrame
    #: Who plays each part: the incident kinds, ``callers`` (of the crashed
    #: service, healthy), ``clock`` (runs ahead), ``slow`` (declares 300 s),
    #: ``collector_gap`` (the group of ``collector-c.jsonl``).
    roles: dict[str, Any]
    #: Each service's heartbeat period before any incident, seconds.
    periods: dict[str, float]
    #: Beacon lines written (copies included), copied lines, malformed lines.
    beacons: int
    duplicates: int
    malformed: int


def _roles(specs: list[ServiceSpec]) -> dict[str, Any]:
    """Pick who plays each part: the crashed service's callers play none."""
    names = [s.name for s in specs]
    callers = {n: [s.name for s in specs if n in s.depends_on] for n in names}
    web = next(s.name for s in specs if s.web)
    crash = next(s.name for s in specs if not s.web and s.kind == "api" and callers[s.name])
    taken = {web, crash, *callers[crash]}
    free = [s.name for s in specs if s.name not in taken and not s.web]
    roles = dict(
        zip(
            ("restart_storm", "intermittent", "planned_stop", "cadence_change", "clock", "slow"),
            free,
            strict=False,
        )
    )
    gap = free[6 : 6 + _GAP_MEMBERS]
    if len(roles) < 6 or len(gap) < _GAP_MEMBERS:
        raise InputError(f"services must be at least {MIN_SERVICES}, got {len(specs)}")
    return {"structural_drift": web, "outage": crash, "callers": callers[crash],
            "collector_gap": gap, **roles}  # fmt: skip


def _when(ms: float | None) -> Any:
    return pd.NaT if ms is None else pd.Timestamp(int(ms), unit="ms", tz="UTC")


def _truth_row(kind: str, sites: list[str], start: float | None, end: float | None,
               period_s: float, detail: str = "") -> dict[str, Any]:  # fmt: skip
    return {
        "kind": kind,
        "sites": sorted(sites),
        "start": _when(start),
        "end": _when(end),
        "period_s": float(period_s),
        "detail": detail,
    }


def write_noisy_history(
    directory: str | Path,
    *,
    services: int = 24,
    hours: float = 6.0,
    seed: int = 0,
    start: datetime = DEFAULT_START,
) -> NoisyHistory:
    """Write a noisy beacon history, its profiles and its truth table to a directory.

    Files: ``collector-a.jsonl``, ``collector-b.jsonl`` (the services, alternately,
    and a cluster heartbeat each), ``collector-c.jsonl`` (the collector-gap group
    only), ``profiles.json`` (``{site: profile}``, ``depends_on`` as the catalog
    declares it) and ``truth.json`` (the truth table, :func:`read_truth`). The
    same arguments write the same bytes.

    Parameters
    ----------
    directory
        Where to write (created if needed).
    services
        How many services, at least :data:`MIN_SERVICES`.
    hours
        Length of the window, at least 3 (incidents are placed at fixed
        fractions of it).
    seed
        Seed of every random stream.
    start
        Window start (timezone-aware).

    Returns
    -------
    NoisyHistory
        The paths, the truth table (columns :data:`TRUTH_COLUMNS`, ``start`` and
        ``end`` UTC) and the counts of beacons, duplicated and malformed lines.

    Raises
    ------
    InputError
        If ``services`` or ``hours`` is too small, or ``start`` is naive.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     history = write_noisy_history(tmp, services=16, hours=3, seed=1)
    ...     names = sorted(p.name for p in history.beacon_files)
    >>> names
    ['collector-a.jsonl', 'collector-b.jsonl', 'collector-c.jsonl']
    >>> sorted(history.truth["kind"])  # doctest: +NORMALIZE_WHITESPACE
    ['cadence_change', 'collector_gap', 'intermittent', 'outage', 'planned_stop',
     'quarantined_records', 'restart_storm', 'structural_drift']
    """
    if start.tzinfo is None:
        raise InputError("start must be timezone-aware")
    if hours < 3:
        raise InputError(f"hours must be at least 3, got {hours}")
    if services < MIN_SERVICES:
        raise InputError(f"services must be at least {MIN_SERVICES}, got {services}")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 1])
    specs = catalog(services, rng)
    known = {s.name for s in specs}
    roles = _roles(specs)
    start_ms = int(start.timestamp() * 1000)
    end_ms = start_ms + int(hours * 3.6e6)
    at = {k: start_ms + f * (end_ms - start_ms) for k, f in _AT.items()}
    period = {
        s.name: float(p) for s, p in zip(specs, rng.integers(30, 61, len(specs)), strict=True)
    }
    period[roles["slow"]] = float(DECLARED_PERIOD_S)
    running = {
        s.name: Process(s, period[s.name], start_ms, np.random.default_rng([seed, 2, i]))
        for i, s in enumerate(specs)
    }
    truth: list[dict[str, Any]] = []
    busy = {roles[k] for k in _AT if k in roles and isinstance(roles[k], str)}
    busy |= set(roles["collector_gap"])
    span = end_ms - start_ms
    for name, service in running.items():
        # Deploys and config changes: noise the services without a part may see.
        if name in busy:
            continue
        acts: list[tuple[float, str]] = []
        if service.rng.random() < 0.3:
            acts.append((start_ms + service.rng.uniform(0.05, 0.95) * span, "deploy"))
        if service.rng.random() < 0.3:
            acts.append((start_ms + service.rng.uniform(0.02, 0.98) * span, "config"))
        for when, act in sorted(acts):
            if act == "deploy":
                service.deploy(when)
            else:
                service.config(when)

    def play(role: str) -> Process:
        return running[roles[role]]

    hung = play("intermittent")
    t = at["intermittent"]
    first = t
    for _ in range(4):
        silence = hung.rng.uniform(180_000, 270_000)
        hung.hang(t, t + silence)
        last_end = t + silence
        t = last_end + hung.rng.uniform(240_000, 480_000)
    truth.append(_truth_row("intermittent", [hung.spec.name], first, last_end,
                            period[hung.spec.name], "hangs 4 times, 3-4.5 min each"))  # fmt: skip
    crashed = play("outage")
    crashed.crash(at["outage"])
    crashed.run(at["recovery"])
    crashed.start(at["recovery"])
    truth.append(_truth_row("outage", [crashed.spec.name], at["outage"], at["recovery"],
                            period[crashed.spec.name],
                            f"callers {', '.join(roles['callers'])} stay healthy"))  # fmt: skip
    stopped = play("planned_stop")
    stopped.stop(at["planned_stop"])
    stopped.start(at["planned_restart"])
    truth.append(_truth_row("planned_stop", [stopped.spec.name], at["planned_stop"],
                            at["planned_restart"], period[stopped.spec.name]))  # fmt: skip
    storming = play("restart_storm")
    settled = storming.storm(at["restart_storm"])
    truth.append(_truth_row("restart_storm", [storming.spec.name], at["restart_storm"], settled,
                            period[storming.spec.name], "7 restarts"))  # fmt: skip
    slowed = play("cadence_change")
    slowed.run(at["cadence_change"])
    slowed.period_ms *= _SLOWDOWN
    truth.append(_truth_row("cadence_change", [slowed.spec.name], at["cadence_change"], None,
                            period[slowed.spec.name], f"period x{_SLOWDOWN:.2f}"))  # fmt: skip
    gap_end = at["collector_gap"] + COLLECTOR_GAP_S * 1000
    for name in roles["collector_gap"]:
        running[name].lose(at["collector_gap"], gap_end)
    truth.append(_truth_row("collector_gap", roles["collector_gap"], at["collector_gap"], gap_end,
                            max(period[n] for n in roles["collector_gap"]),
                            "collector-c.jsonl"))  # fmt: skip
    site = play("structural_drift")
    site.structure = page_structure(site.spec.name, PAGES[0], False, 1.0)
    site.run(at["structural_drift"])
    site.structure = page_structure(site.spec.name, PAGES[0], True, 1.0)
    add_visits(site, start_ms, end_ms, at["structural_drift"])
    truth.append(_truth_row("structural_drift", [site.spec.name], at["structural_drift"], None,
                            period[site.spec.name], "redesign: nav 8 -> 3, DOM x1.4"))  # fmt: skip

    by_file: dict[str, list[tuple[float, str]]] = {"a": [], "b": [], "c": []}
    others = [n for n in running if n not in roles["collector_gap"]]
    for name, service in running.items():
        service.run(end_ms)
        skew = CLOCK_AHEAD_S * 1000 if name == roles["clock"] else 0
        key = "c" if name in roles["collector_gap"] else "ab"[others.index(name) % 2]
        by_file[key] += render(service, skew)
    for k, cluster in (("a", "dc-east"), ("b", "dc-west")):
        crng = np.random.default_rng([seed, 3, ord(k)])
        beats = np.arange(start_ms + crng.uniform(0, 30_000), end_ms, 30_000.0)
        session = f"dc-{(start_ms - int(crng.uniform(8.64e7, 2.6e9))) // 1000}"
        for beat in beats + crng.uniform(-150, 150, len(beats)):
            record = {"site": cluster, "session": session, "event": "cluster_heartbeat",
                      "ts": stamp(beat, "js"), "structure": {"url": f"internal://{cluster}",
                      "title": f"Datacenter {cluster[3:].title()}"}}  # fmt: skip
            by_file[k].append((float(beat), json.dumps(record, separators=(",", ":"))))
    files, beacons, duplicates, malformed = [], 0, 0, 3
    for k, lines in by_file.items():
        frng = np.random.default_rng([seed, 4, ord(k)])
        texts, copied = collector_lines(lines, frng, malformed if k == "a" else 0)
        path = out / f"collector-{k}.jsonl"
        path.write_text("".join(line + "\n" for line in texts), encoding="utf-8")
        files.append(path)
        beacons += len(lines) + copied
        duplicates += copied
    truth.append(_truth_row("quarantined_records", [], None, None, 0.0, "collector-a.jsonl"))

    profiles = {
        s.name: {
            "rtt_version": "1.0",
            "supports": ["coherence", "drift"],
            "contact": f"{s.owner}@example.com",
            "depends_on": [d for d in s.depends_on if d in known],
            **({"heartbeat_interval_s": DECLARED_PERIOD_S} if s.name == roles["slow"] else {}),
        }
        for s in specs
    }
    profiles_file = out / "profiles.json"
    profiles_file.write_text(json.dumps(profiles, indent=2, sort_keys=True) + "\n", "utf-8")
    table = _typed(pd.DataFrame(truth, columns=list(TRUTH_COLUMNS)))
    table = table.sort_values(["start", "kind"], na_position="last", kind="stable")
    table = table.reset_index(drop=True)
    truth_file = out / "truth.json"
    records = [
        {**row, "start": _iso(row["start"]), "end": _iso(row["end"])}
        for row in table.to_dict("records")
    ]
    truth_file.write_text(json.dumps(records, indent=1) + "\n", "utf-8")
    return NoisyHistory(
        out, files, profiles_file, truth_file, table, roles, period, beacons, duplicates, malformed
    )


def _iso(value: Any) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).isoformat().replace("+00:00", "Z")


def read_truth(path: str | Path) -> pd.DataFrame:
    """Read a ``truth.json`` written by :func:`write_noisy_history` back into its table.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TRUTH_COLUMNS`; ``start`` and ``end`` UTC (NaT when absent).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     history = write_noisy_history(tmp, services=16, hours=3)
    ...     back = read_truth(history.truth_file)
    >>> back.equals(history.truth)
    True
    """
    records = json.loads(Path(path).read_text(encoding="utf-8"))
    return _typed(pd.DataFrame(records, columns=list(TRUTH_COLUMNS)))


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    for column in ("start", "end"):
        stamps = pd.to_datetime(table[column], utc=True, format="ISO8601")
        table[column] = stamps.astype("datetime64[ns, UTC]")
    table["period_s"] = table["period_s"].astype("float64")
    return table
