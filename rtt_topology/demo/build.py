"""Build the whole demo datacenter in memory and write it to a directory.

:func:`build_scenario` returns every file's bytes and the ground truth without
touching the disk; :func:`generate_demo` writes them under one directory.
"""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rtt_topology.demo.beacons import BeaconFile, build_beacon_file
from rtt_topology.demo.catalog import DATA_KINDS
from rtt_topology.demo.formats import host_of, render_jaeger, render_otlp, render_zipkin
from rtt_topology.demo.logs import render_node_log, render_python_log
from rtt_topology.demo.policy import demo_corridors_text, demo_rules_text
from rtt_topology.demo.scenario import DEFAULT_START, Plan, make_plan
from rtt_topology.demo.timeline import CLUSTERS, Timelines, build_timelines
from rtt_topology.demo.traces import TraceSet, generate_traces
from rtt_topology.demo.truth import DemoManifest, GroundTruth
from rtt_topology.demo.truth_build import ground_truth

__all__ = ["DEFAULT_TRACES_PER_HOUR", "DemoScenario", "build_scenario", "generate_demo"]

#: Background traces per hour of the default demo.
DEFAULT_TRACES_PER_HOUR = 30


@dataclass(frozen=True)
class DemoScenario:
    """The demo as data: every file's bytes (uncompressed) and the ground truth.

    ``files`` maps a relative path (the one written by :func:`generate_demo`)
    to its content; beacon files are listed under their final name
    (``.jsonl.gz`` when ``compress``) but hold the uncompressed text.
    """

    ground_truth: GroundTruth
    files: dict[str, bytes]
    plan: Plan
    timelines: Timelines
    traces: TraceSet


def _profile(plan: Plan, name: str) -> dict[str, Any]:
    spec = plan.by_name[name]
    supports = ["coherence", "drift", "corridor"] if spec.web else ["coherence", "drift"]
    if spec.layer in ("worker", "data"):
        supports = ["coherence"]
    return {
        "rtt_version": "1.0",
        "supports": supports,
        "contact": f"{spec.owner}@example.com",
        "depends_on": list(spec.depends_on),
        "heartbeat_interval_s": plan.period_s[name],
        "layer": spec.layer,
        "owner": spec.owner,
        "lifecycle": spec.lifecycle,
        "tags": list(spec.tags),
    }


def _profiles(plan: Plan) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for i, spec in enumerate(plan.specs):
        if not spec.profile:
            continue
        profile = _profile(plan, spec.name)
        if i % 3 == 2:
            text = yaml.safe_dump(profile, sort_keys=False, default_flow_style=False)
            out[f"profiles/{spec.name}.yaml"] = text.encode()
        else:
            text = json.dumps(profile, indent=2, ensure_ascii=False) + "\n"
            out[f"profiles/{spec.name}.json"] = text.encode()
    return out


def build_scenario(
    *,
    seed: int = 7,
    hours: float = 24.0,
    start: datetime = DEFAULT_START,
    services: int = 40,
    traces_per_hour: int = DEFAULT_TRACES_PER_HOUR,
    compress: bool = False,
) -> DemoScenario:
    """Generate the demo datacenter in memory, deterministically for a seed.

    Parameters
    ----------
    seed
        Seed of every random stream; the same parameters give identical bytes.
    hours
        Length of the window; incidents are placed at fixed fractions of it
        (use at least 2 hours so they all fit).
    start
        Window start, timezone-aware.
    services
        Number of services (at least 8); beyond the 40 base services, numbered copies.
    traces_per_hour
        Background traces per hour (incident traces are added).
    compress
        Name the beacon files ``.jsonl.gz`` (the bytes here stay uncompressed).

    Returns
    -------
    DemoScenario
        The files' bytes, the ground truth, and the intermediate plan,
        timelines and traces.

    Examples
    --------
    >>> demo = build_scenario(hours=2, services=8, traces_per_hour=10)
    >>> sorted(demo.files)[:2]
    ['beacons/dc-east.jsonl', 'beacons/dc-west.jsonl']
    >>> demo.ground_truth.incident("crash").services
    ['orders-api']
    """
    plan = make_plan(seed=seed, hours=hours, start=start, services=services)
    tl = build_timelines(plan)
    traces = generate_traces(plan, tl.downtime, traces_per_hour)
    r = plan.roles
    suffix = ".jsonl.gz" if compress else ".jsonl"
    log_only = {r.node_log: "node", r.python_log: "python"}
    files: dict[str, bytes] = {}
    beacon_files: list[BeaconFile] = []
    for k, cluster in enumerate(CLUSTERS):
        members = [
            tl.services[s.name]
            for s in plan.specs
            if f"dc-{s.cluster}" == cluster and s.name in tl.services and s.name not in log_only
        ]
        bf = build_beacon_file(
            f"beacons/{cluster}{suffix}",
            cluster,
            [*members, tl.clusters[cluster]],
            tl.structures.json,
            (plan.start_ms, plan.end_ms),
            plan.times["malformed_burst"],
            np.random.default_rng([seed, 6, k]),
        )
        beacon_files.append(bf)
        files[bf.path] = bf.data
    window = (plan.start_ms, plan.end_ms)
    for name, style in log_only.items():
        render = render_node_log if style == "node" else render_python_log
        rng = np.random.default_rng([seed, 7, style == "node"])
        text = render(tl.services[name], tl.structures.dicts, window, rng)
        files[f"beacons/logs/{name}.log"] = text.encode()
    files.update(_profiles(plan))
    files["rules.yaml"] = demo_rules_text().encode()
    files["corridors.yaml"] = demo_corridors_text().encode()
    hosts = {s.name: host_of(s, i) for i, s in enumerate(plan.specs)}
    names = {k: v[0] for k, v in hosts.items()}
    ips = {k: v[1] for k, v in hosts.items()}
    base64_service = _base64_service(plan)
    kindless = _kindless_service(plan)
    files["traces/jaeger.json"] = render_jaeger(traces, plan.by_name, names).encode()
    files["traces/zipkin.json"] = render_zipkin(traces, ips, kindless).encode()
    files["traces/otlp.jsonl"] = render_otlp(traces, plan.by_name, names, base64_service).encode()
    truth = ground_truth(
        plan,
        tl,
        traces,
        beacon_files,
        files,
        traces_per_hour=traces_per_hour,
        compress=compress,
        quirk_services=(base64_service, kindless),
    )
    files["ground_truth.json"] = (
        json.dumps(truth.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    ).encode()
    return DemoScenario(truth, files, plan, tl, traces)


def _base64_service(plan: Plan) -> str | None:
    spec = plan.by_name[plan.roles.python_log]
    if spec.traced:
        return spec.name
    return next((s.name for s in plan.specs if s.kind == "worker" and s.traced), None)


def _kindless_service(plan: Plan) -> str | None:
    for s in plan.specs:
        data = [d for d in s.depends_on if plan.by_name[d].kind in DATA_KINDS]
        if s.traced and s.layer == "api" and data and s.name != plan.roles.silent:
            return s.name
    return None


def _gzip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buffer.getvalue()


def generate_demo(
    out: str | Path,
    *,
    seed: int = 7,
    hours: float = 24.0,
    start: datetime = DEFAULT_START,
    services: int = 40,
    traces_per_hour: int = DEFAULT_TRACES_PER_HOUR,
    compress: bool = False,
) -> DemoManifest:
    """Write the demo datacenter (beacons, logs, profiles, traces, ground truth) under ``out``.

    Layout::

        beacons/dc-east.jsonl, beacons/dc-west.jsonl   (.jsonl.gz with compress)
        beacons/logs/<node-service>.log, beacons/logs/<python-service>.log
        profiles/<site>.json | profiles/<site>.yaml
        traces/jaeger.json, traces/zipkin.json, traces/otlp.jsonl
        rules.yaml, corridors.yaml          (a rules file and declared corridors)
        ground_truth.json

    Parameters
    ----------
    out
        Output directory (created if needed; existing files are overwritten).
    seed
        Seed of every random stream; the same parameters give identical bytes.
    hours
        Length of the window (at least 2 hours so every incident fits).
    start
        Window start, timezone-aware.
    services
        Number of services, at least 8.
    traces_per_hour
        Background traces per hour.
    compress
        Write the beacon JSON Lines gzip-compressed (gzip mtime 0, deterministic).

    Returns
    -------
    DemoManifest
        Paths written, counts and the ground truth.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     m = generate_demo(tmp, hours=2, services=8, traces_per_hour=5)
    ...     (m.root / "ground_truth.json").is_file(), m.malformed_lines, m.duplicate_lines
    (True, 9, 8)
    """
    demo = build_scenario(
        seed=seed,
        hours=hours,
        start=start,
        services=services,
        traces_per_hour=traces_per_hour,
        compress=compress,
    )
    root = Path(out)
    for rel, data in demo.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_gzip(data) if rel.endswith(".gz") else data)
    truth = demo.ground_truth
    return DemoManifest(
        root=root,
        files=truth.files,
        beacons_per_file={f.file: f.beacons for f in truth.beacon_files},
        lines_per_file={f.file: f.lines for f in truth.beacon_files},
        malformed_lines=len(truth.malformed_lines),
        duplicate_lines=len(truth.duplicate_lines),
        traces=truth.counts["traces"],
        spans=truth.counts["spans"],
        ground_truth=truth,
    )
