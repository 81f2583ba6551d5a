"""Assemble the ground truth from the plan, timelines, traces and rendered files."""

from __future__ import annotations

from typing import Any

from rtt_topology.demo.beacons import BeaconFile
from rtt_topology.demo.catalog import LAYERS
from rtt_topology.demo.scenario import Plan, iso_ms
from rtt_topology.demo.timeline import DRIFT_TITLE, Timeline, Timelines
from rtt_topology.demo.traces import TraceSet
from rtt_topology.demo.truth import (
    BeaconFileTruth,
    ClusterTruth,
    ConfigChangeTruth,
    DemoParams,
    DeployTruth,
    DuplicateLine,
    EdgeRef,
    EdgeTruth,
    GroundTruth,
    IncidentTruth,
    MalformedLine,
    QuirkTruth,
    ServiceTruth,
    SessionTruth,
)

__all__ = ["ground_truth"]


def _sessions(tl: Timeline) -> list[SessionTruth]:
    out = []
    for i, life in enumerate(tl.lifetimes):
        ts = tl.ts[tl.session == i]
        out.append(
            SessionTruth(
                session=life.session,
                start=iso_ms(life.start_ms),
                end=None if life.end_ms is None else iso_ms(life.end_ms),
                end_reason=life.end_reason,
                first_beacon=iso_ms(int(ts[0])) if len(ts) else None,
                last_beacon=iso_ms(int(ts[-1])) if len(ts) else None,
                beacons=len(ts),
            )
        )
    return out


def _edges(plan: Plan, traces: TraceSet) -> list[EdgeTruth]:
    by = plan.by_name
    r = plan.roles
    acc: dict[tuple[str, str], dict[str, Any]] = {}
    for tr in traces.traces:
        for i, span in enumerate(tr.spans):
            if span.call is None or span.peer is None:
                continue
            callee, via, failed = span.peer, None, span.error is not None
            if span.call == "messaging":
                child = next(s for s in tr.spans if s.parent == i)
                callee, via, failed = child.service, span.peer, child.error is not None
            item = acc.setdefault(
                (span.service, callee),
                {"kind": span.call, "via": via, "calls": 0, "errors": 0, "times": [], "ids": []},
            )
            item["calls"] += 1
            item["errors"] += int(failed)
            item["times"].append(span.start_us)
            if len(item["ids"]) < 3 and tr.trace_id not in item["ids"]:
                item["ids"].append(tr.trace_id)
    edges = []
    for (caller, callee), item in sorted(acc.items()):
        if item["via"] is not None:
            q = item["via"]
            declared = by[caller].profile and by[callee].profile
            declared = declared and q in by[caller].depends_on and q in by[callee].depends_on
        else:
            declared = by[caller].profile and callee in by[caller].depends_on
        incident = None
        if (caller, callee) == r.undeclared_edge:
            incident = "undeclared_dependency"
        elif (caller, callee) == r.layering_edge:
            incident = "layering_violation"
        edges.append(
            EdgeTruth(
                caller=caller,
                callee=callee,
                kind=item["kind"],
                via=item["via"],
                calls=item["calls"],
                errors=item["errors"],
                first_seen=iso_ms(min(item["times"]) // 1000),
                last_seen=iso_ms(max(item["times"]) // 1000),
                declared=bool(declared),
                incident=incident,
                sample_trace_ids=item["ids"],
            )
        )
    return edges


def _incidents(
    plan: Plan, tl: Timelines, edges: list[EdgeTruth], bad: list[dict[str, Any]], west: str
) -> list[IncidentTruth]:
    r, t = plan.roles, plan.times
    edge = {(e.caller, e.callee): e for e in edges}
    crash_tl = tl.services[r.crash]
    crashed = next(s for s in _sessions(crash_tl) if s.end_reason == "crash")
    to_crash = [e for e in edges if e.callee == r.crash]
    stop_tl = tl.services[r.stop]
    stopped = next(s for s in _sessions(stop_tl) if s.end_reason == "shutdown")
    storm = tl.notes["restart_storm"]
    drift_tl = tl.services[r.drift]
    before, after = _home_structures(plan, tl, drift_tl)
    burst = [b for b in bad if b["file"] == west]
    by_kind: dict[str, int] = {}
    for b in burst:
        by_kind[b.get("kind", "duplicate")] = by_kind.get(b.get("kind", "duplicate"), 0) + 1

    def seen(pair: tuple[str, str]) -> dict[str, Any]:
        e = edge.get(pair)
        return {
            "caller": pair[0],
            "callee": pair[1],
            "first_seen": e.first_seen if e else None,
            "calls": e.calls if e else 0,
        }

    ua, lb = r.undeclared_edge, r.layering_edge
    return [
        IncidentTruth(
            id="crash-1",
            type="crash",
            services=[r.crash],
            start=iso_ms(t["crash"]),
            end=iso_ms(t["crash_recovery"]),
            details={
                "session": crashed.session,
                "last_beacon": crashed.last_beacon,
                "shutdown_beacon": False,
                "recovered": True,
                "recovered_at": iso_ms(t["crash_recovery"]),
                "affected_callers": sorted(e.caller for e in to_crash),
                "failed_calls": sum(e.errors for e in to_crash),
            },
        ),
        IncidentTruth(
            id="planned-stop-1",
            type="planned_stop",
            services=[r.stop],
            start=iso_ms(t["planned_stop"]),
            end=iso_ms(t["planned_restart"]),
            details={
                "session": stopped.session,
                "shutdown_beacon": stopped.last_beacon,
                "restarted": True,
                "restarted_at": iso_ms(t["planned_restart"]),
            },
        ),
        IncidentTruth(
            id="restart-storm-1",
            type="restart_storm",
            services=[r.storm],
            start=iso_ms(t["restart_storm"]),
            end=iso_ms(storm["end_ms"]),
            details={
                "restarts": len(storm["restarts"]),
                "sessions": [s for s, _ in storm["restarts"]],
                "startups": [iso_ms(ms) for _, ms in storm["restarts"]],
                "shutdown_beacons": False,
            },
        ),
        IncidentTruth(
            id="cadence-slowdown-1",
            type="cadence_slowdown",
            services=[r.slowdown],
            start=iso_ms(t["cadence_slowdown"]),
            end=None,
            details={
                "period_before_s": plan.period_s[r.slowdown],
                "period_after_s": plan.slow_period_s,
                "declared_interval_s": plan.period_s[r.slowdown],
            },
        ),
        IncidentTruth(
            id="structural-drift-1",
            type="structural_drift",
            services=[r.drift],
            start=iso_ms(t["structural_drift"]),
            end=None,
            details={
                "url": before["url"],
                "before": before,
                "after": after,
                "changed": [k for k in before if before[k] != after[k]],
                "note": "every page loses nav blocks and gains DOM nodes; the home title changes",
                "new_title": DRIFT_TITLE,
            },
        ),
        IncidentTruth(
            id="undeclared-dependency-1",
            type="undeclared_dependency",
            services=list(ua),
            start=iso_ms(t["undeclared_dependency"]),
            end=None,
            details=seen(ua),
        ),
        IncidentTruth(
            id="layering-violation-1",
            type="layering_violation",
            services=list(lb),
            start=iso_ms(t["layering_violation"]),
            end=None,
            details={
                **seen(lb),
                "caller_layer": plan.by_name[lb[0]].layer,
                "callee_layer": plan.by_name[lb[1]].layer,
            },
        ),
        IncidentTruth(
            id="malformed-burst-1",
            type="malformed_burst",
            services=sorted({b["site"] for b in burst}),
            start=iso_ms(min(b["ts_ms"] for b in burst)),
            end=iso_ms(max(b["ts_ms"] for b in burst)),
            details={
                "file": west,
                "by_kind": dict(sorted(by_kind.items())),
                "lines": sorted(b["line"] for b in burst),
            },
        ),
    ]


def _gap_incidents(
    plan: Plan, tl: Timelines, beacon_files: list[BeaconFile]
) -> list[IncidentTruth]:
    """Return the collector gap, and the crash of its lingering member hidden inside it."""
    gap = plan.gap
    if gap is None:
        return []
    file = next(b.path for b in beacon_files if f"/{gap.cluster}." in b.path)
    last = {
        n: iso_ms(int(tl.services[n].ts[tl.services[n].ts < gap.start_ms][-1])) for n in gap.members
    }
    back = {
        n: iso_ms(int(tl.services[n].ts[tl.services[n].ts >= gap.end_ms][0])) for n in gap.members
    }
    out = [
        IncidentTruth(
            id="collector-gap-1",
            type="collector_gap",
            services=list(gap.members),
            start=iso_ms(gap.start_ms),
            end=iso_ms(gap.end_ms),
            details={
                "file": file,
                "cluster": gap.cluster,
                "lost": "every beacon of the file sent in [start, end), the cluster's too",
                "last_beacons": last,
                "first_beacons_after": back,
                "lingering": gap.lingering,
            },
        )
    ]
    if gap.lingering is not None:
        mine = tl.services[gap.lingering]
        out.append(
            IncidentTruth(
                id="gap-crash-1",
                type="gap_crash",
                services=[gap.lingering],
                start=iso_ms(gap.crash_ms),
                end=iso_ms(gap.back_ms),
                details={
                    "gap": "collector-gap-1",
                    "last_beacon": iso_ms(int(mine.ts[mine.ts < gap.start_ms][-1])),
                    "crashed_at": iso_ms(gap.crash_ms),
                    "recovered_at": iso_ms(gap.back_ms),
                    "note": "crashed inside the gap, back after the others: an outage",
                },
            )
        )
    return out


def _home_structures(
    plan: Plan, tl: Timelines, drift_tl: Timeline
) -> tuple[dict[str, Any], dict[str, Any]]:
    heart = drift_tl.event == 0
    ts, st = drift_tl.ts[heart], drift_tl.structure[heart]
    at = plan.times["structural_drift"]
    before = tl.structures.dicts[int(st[ts < at][-1])]
    after = tl.structures.dicts[int(st[ts >= at][0])]
    return dict(before), dict(after)


def ground_truth(
    plan: Plan,
    tl: Timelines,
    traces: TraceSet,
    beacon_files: list[BeaconFile],
    files: dict[str, bytes],
    *,
    traces_per_hour: int,
    compress: bool,
    quirk_services: tuple[str | None, str | None],
) -> GroundTruth:
    """Collect what was injected, where and when.

    Parameters
    ----------
    plan, tl, traces
        The generated scenario.
    beacon_files
        The rendered cluster files, with their bad lines.
    files
        Every rendered file so far, by relative path.
    traces_per_hour, compress
        Recorded in ``params``.
    quirk_services
        The OTLP base64 service and the Zipkin kind-less database-span service.

    Returns
    -------
    GroundTruth
        The complete record.

    Examples
    --------
    >>> from rtt_topology.demo import build_scenario
    >>> demo = build_scenario(hours=2, services=8, traces_per_hour=5)
    >>> demo.ground_truth.counts["malformed_lines"], demo.ground_truth.declared_silent
    (9, 'loyalty-api')
    """
    r = plan.roles
    log_only = {r.node_log: "node_log", r.python_log: "python_log"}
    file_of = {}
    for s in plan.specs:
        if s.name in log_only:
            file_of[s.name] = f"beacons/logs/{s.name}.log"
        elif s.name != r.silent:
            file_of[s.name] = next(b.path for b in beacon_files if f"dc-{s.cluster}." in b.path)
    profile_of = {
        p.split("/", 1)[1].rsplit(".", 1)[0]: p for p in files if p.startswith("profiles/")
    }
    services = []
    for s in plan.specs:
        stl = tl.services.get(s.name)
        services.append(
            ServiceTruth(
                name=s.name,
                cluster=f"dc-{s.cluster}",
                layer=s.layer,
                kind=s.kind,
                period_s=plan.period_s[s.name],
                declared=s.profile,
                beacons=stl is not None,
                web=s.web,
                traced=s.traced,
                lifecycle=s.lifecycle if s.profile else None,
                sdk="nodejs" if s.sdk == "js" else "python",
                ts_precision="s" if s.sdk == "py" else "ms",
                beacon_file=file_of.get(s.name),
                profile_file=profile_of.get(s.name),
                depends_on=list(s.depends_on) if s.profile else [],
                template=s.template,
                beacon_count=0 if stl is None else len(stl.ts),
                sessions=[] if stl is None else _sessions(stl),
            )
        )
    clusters = [
        ClusterTruth(
            name=c.site,
            session=c.sessions[0],
            period_s=30,
            beacon_file=next(b.path for b in beacon_files if f"/{c.site}." in b.path),
            beacon_count=len(c.ts),
        )
        for c in tl.clusters.values()
    ]
    edges = _edges(plan, traces)
    bad = [m for b in beacon_files for m in b.malformed + b.duplicates]
    west = next(b.path for b in beacon_files if "dc-west" in b.path)
    file_truths = [
        BeaconFileTruth(
            file=b.path,
            format="jsonl",
            lines=b.lines,
            beacons=b.beacons,
            malformed=len(b.malformed),
            duplicates=len(b.duplicates),
        )
        for b in beacon_files
    ]
    for name, fmt in log_only.items():
        path = file_of[name]
        file_truths.append(
            BeaconFileTruth(
                file=path,
                format=fmt,
                lines=files[path].count(b"\n"),
                beacons=len(tl.services[name].ts),
                malformed=0,
                duplicates=0,
            )
        )
    malformed = [
        MalformedLine(**{k: v for k, v in m.items() if k != "ts_ms"})
        for b in beacon_files
        for m in b.malformed
    ]
    duplicates = [
        DuplicateLine(**{k: v for k, v in d.items() if k != "ts_ms"})
        for b in beacon_files
        for d in b.duplicates
    ]
    base64_service, kindless = quirk_services
    quirks = [
        QuirkTruth(
            type="clock_skew",
            format="all",
            description="one SERVER span starts 1-5 ms before its parent CLIENT span",
            services=[],
            trace_ids=list(traces.clock_skew),
        ),
        QuirkTruth(
            type="zipkin_shared_span_id",
            format="zipkin",
            description="SERVER spans reuse the CLIENT span id (shared: true); "
            "Jaeger and OTLP keep distinct ids",
            services=[],
            trace_ids=list(traces.zipkin_shared),
        ),
    ]
    if base64_service is not None:
        quirks.append(
            QuirkTruth(
                type="otlp_base64_ids",
                format="otlp",
                description="this service's exporter writes traceId/spanId/parentSpanId in base64",
                services=[base64_service],
                trace_ids=[],
            )
        )
    if kindless is not None:
        quirks.append(
            QuirkTruth(
                type="zipkin_kindless_client",
                format="zipkin",
                description="this service's database spans have no kind, "
                "only localEndpoint and remoteEndpoint",
                services=[kindless],
                trace_ids=[],
            )
        )
    groups = {
        "beacons": [b.path for b in beacon_files],
        "logs": [file_of[n] for n in log_only],
        "profiles": sorted(p for p in files if p.startswith("profiles/")),
        "traces": ["traces/jaeger.json", "traces/zipkin.json", "traces/otlp.jsonl"],
        "policy": ["rules.yaml", "corridors.yaml"],
        "ground_truth": ["ground_truth.json"],
    }
    spans = sum(len(tr.spans) for tr in traces.traces)
    return GroundTruth(
        params=DemoParams(
            seed=plan.seed,
            hours=plan.hours,
            start=iso_ms(plan.start_ms),
            end=iso_ms(plan.end_ms),
            services=len(plan.specs),
            traces_per_hour=traces_per_hour,
            compress=compress,
        ),
        layers=list(LAYERS),
        files=groups,
        beacon_files=file_truths,
        clusters=clusters,
        services=services,
        declared_dependencies=[
            EdgeRef(caller=s.name, callee=d) for s in plan.specs if s.profile for d in s.depends_on
        ],
        edges=edges,
        incidents=[
            *_incidents(plan, tl, edges, bad, west),
            *_gap_incidents(plan, tl, beacon_files),
        ],
        deploys=[
            DeployTruth(
                service=d["service"],
                start=iso_ms(d["start_ms"]),
                finish=iso_ms(d["finish_ms"]),
                old_session=d["old"],
                new_session=d["new"],
            )
            for d in sorted(tl.deploys, key=lambda d: (d["start_ms"], d["service"]))
        ],
        config_changes=[
            ConfigChangeTruth(service=n, ts=iso_ms(ms)) for n, ms in sorted(tl.config_changes)
        ],
        malformed_lines=malformed,
        duplicate_lines=duplicates,
        undeclared_services=[s.name for s in plan.specs if not s.profile],
        declared_silent=r.silent,
        deprecated=[s.name for s in plan.specs if s.profile and s.lifecycle == "deprecated"],
        experimental=[s.name for s in plan.specs if s.profile and s.lifecycle == "experimental"],
        log_only={"node": r.node_log, "python": r.python_log},
        undeclared_edge=EdgeRef(caller=r.undeclared_edge[0], callee=r.undeclared_edge[1]),
        layering_violation=EdgeRef(caller=r.layering_edge[0], callee=r.layering_edge[1]),
        quirks=quirks,
        counts={
            "services": len(plan.specs),
            "profiles": len(groups["profiles"]),
            "traces": len(traces.traces),
            "spans": spans,
            "edges": len(edges),
            "beacons": int(sum(f.beacons for f in file_truths)),
            "malformed_lines": len(malformed),
            **{
                f"malformed_{kind}": sum(m.kind == kind for m in malformed)
                for kind in sorted({m.kind for m in malformed})
            },
            "duplicate_lines": len(duplicates),
            "deploys": len(tl.deploys),
            "config_changes": len(tl.config_changes),
        },
    )
