"""Benchmark read_traces on a large OTLP JSON Lines file (as the Collector file exporter writes).

Usage::

    python benchmarks/bench_read_traces.py [--spans 1000000] [--gzip]

The file is generated once under ``benchmarks/data/`` (git-ignored) by a fast
generator below: batches of 10 traces per line, grouped by resource like a
Collector batch; each trace is an edge SERVER span calling services (CLIENT +
SERVER pairs) and databases (CLIENT spans with ``db.system``), some errors, 5 % of
the traces with base64 ids. Spans carry the attributes OpenTelemetry HTTP and
database instrumentations set (``http.request.method``, ``url.path``,
``http.response.status_code``, ``server.address``, ``db.query.text``...) and
resources the attributes of a Kubernetes deployment, so the bytes per span are
those of a real Collector file export (about 1 KB). In the same run it measures,
each in a fresh subprocess:

- the baseline: ``json.loads`` of every line, nothing else;
- ``read_traces``: spans per second, and the peak resident memory (``VmHWM`` from
  ``/proc/self/status``), also as a ratio to the file size (the process baseline,
  after importing pandas and pyarrow, is printed too).

Tests never assert on time; this script prints ratios.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

DATA = Path(__file__).parent / "data"
SERVICES = [f"svc-{i:02d}" for i in range(40)]
DATABASES = [
    ("orders-db", "postgresql"),
    ("session-cache", "redis"),
    ("search-index", "elasticsearch"),
]
EDGES = SERVICES[:4]
TRACES_PER_LINE = 10
T0_NS = 1_768_780_800_000_000_000  # 2026-01-19T00:00:00Z


def _attr(key: str, value: str) -> str:
    return f'{{"key":"{key}","value":{{"stringValue":"{value}"}}}}'


def _int_attr(key: str, value: int) -> str:
    return f'{{"key":"{key}","value":{{"intValue":"{value}"}}}}'


def _span(
    tid: str,
    sid: str,
    parent: str | None,
    name: str,
    kind: int,
    start: int,
    end: int,
    attrs: list[str],
    error: bool,
) -> str:
    parent_part = f'"parentSpanId":"{parent}",' if parent else '"parentSpanId":"",'
    status = '{"code":2,"message":"failed"}' if error else "{}"
    return (
        f'{{"traceId":"{tid}","spanId":"{sid}",{parent_part}"flags":257,"name":"{name}",'
        f'"kind":{kind},"startTimeUnixNano":"{start}","endTimeUnixNano":"{end}",'
        f'"attributes":[{",".join(attrs)}],"droppedAttributesCount":0,"events":[],'
        f'"droppedEventsCount":0,"links":[],"droppedLinksCount":0,"status":{status}}}'
    )


def _server_attrs(svc: str, route: str, status: int) -> list[str]:
    return [
        _attr("http.request.method", "GET"),
        _attr("url.scheme", "http"),
        _attr("url.path", route.replace("{id}", "1042")),
        _attr("http.route", route),
        _int_attr("http.response.status_code", status),
        _attr("server.address", f"{svc}.shop.svc.cluster.local"),
        _int_attr("server.port", 8080),
        _attr("network.protocol.version", "1.1"),
        _attr("client.address", "10.20.3.17"),
        _attr("user_agent.original", "python-requests/2.32.3"),
    ]


def _client_attrs(callee: str, route: str, status: int) -> list[str]:
    return [
        _attr("http.request.method", "GET"),
        _attr("url.full", f"http://{callee}.shop.svc.cluster.local:8080{route}"),
        _attr("server.address", f"{callee}.shop.svc.cluster.local"),
        _int_attr("server.port", 8080),
        _int_attr("http.response.status_code", status),
        _attr("network.protocol.version", "1.1"),
        _attr("peer.service", callee),
    ]


def _db_attrs(db: str, system: str) -> list[str]:
    return [
        _attr("db.system", system),
        _attr("db.namespace", db.split("-")[0]),
        _attr("db.operation.name", "SELECT"),
        _attr("db.query.text", "SELECT id, status, total FROM orders WHERE customer_id = $1"),
        _attr("server.address", f"{db}.shop.svc.cluster.local"),
        _int_attr("server.port", 5432),
        _attr("peer.service", db),
    ]


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def hexid(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def trace(self, t_ns: int, out: dict[str, list[str]], budget: int) -> int:
        rng = self.rng
        tid = self.hexid(128)
        b64 = rng.random() < 0.05

        def enc(x: str) -> str:
            return base64.b64encode(bytes.fromhex(x)).decode() if b64 else x

        count = 0

        def server(svc: str, parent: str | None, start: int, depth: int) -> tuple[int, bool]:
            nonlocal count
            sid = self.hexid(64)
            count += 1
            t = start + rng.randrange(200_000, 2_000_000)
            children: list[str] = []
            failed = False
            if depth < 3:
                for _ in range(rng.randrange(1, 4)):
                    if count >= budget:
                        break
                    cid = self.hexid(64)
                    count += 1
                    if rng.random() < 0.45:
                        db, system = DATABASES[rng.randrange(len(DATABASES))]
                        dur = rng.randrange(100_000, 9_000_000)
                        children.append(
                            _span(
                                enc(tid), enc(cid), enc(sid), "SELECT orders", 3, t, t + dur,
                                _db_attrs(db, system), False,
                            )
                        )  # fmt: skip
                        t += dur
                    else:
                        callee = SERVICES[rng.randrange(4, len(SERVICES))]
                        hop = rng.randrange(100_000, 900_000)
                        end, bad = server(callee, cid, t + hop, depth + 1)
                        end += hop
                        bad = bad or rng.random() < 0.01
                        failed = failed or bad
                        route = "/api/v1/orders/{id}"
                        attrs = _client_attrs(callee, route, 502 if bad else 200)
                        children.append(
                            _span(
                                enc(tid), enc(cid), enc(sid), f"GET {route}", 3, t, end, attrs, bad
                            )
                        )
                        t = end
            end = t + rng.randrange(100_000, 1_000_000)
            route = "/api/v1/orders/{id}"
            attrs = _server_attrs(svc, route, 502 if failed else 200)
            own = _span(
                enc(tid), enc(sid), enc(parent) if parent else None, f"GET {route}", 2, start,
                end, attrs, failed,
            )  # fmt: skip
            out.setdefault(svc, []).append(own)
            out[svc].extend(children)
            return end, failed

        server(EDGES[rng.randrange(len(EDGES))], None, t_ns, 0)
        return count


def _resource(svc: str) -> str:
    attrs = [
        _attr("service.name", svc),
        _attr("service.version", "1.14.2"),
        _attr("service.instance.id", f"{svc}-7d9f8b6c5-x2k4q"),
        _attr("deployment.environment.name", "production"),
        _attr("k8s.cluster.name", "dc-east"),
        _attr("k8s.namespace.name", "shop"),
        _attr("k8s.deployment.name", svc),
        _attr("k8s.pod.name", f"{svc}-7d9f8b6c5-x2k4q"),
        _attr("host.name", f"{svc}-7d9f8b6c5-x2k4q"),
        _attr("telemetry.sdk.name", "opentelemetry"),
        _attr("telemetry.sdk.language", "python"),
        _attr("telemetry.sdk.version", "1.29.0"),
    ]
    return f'{{"attributes":[{",".join(attrs)}],"droppedAttributesCount":0}}'


def _line(groups: dict[str, list[str]]) -> str:
    parts = []
    for svc, spans in groups.items():
        parts.append(
            f'{{"resource":{_resource(svc)},"scopeSpans":[{{"scope":{{"name":'
            f'"opentelemetry.instrumentation.requests","version":"0.50b0"}},'
            f'"spans":[{",".join(spans)}]}}],"schemaUrl":"https://opentelemetry.io/schemas/1.27.0"}}'
        )
    return '{"resourceSpans":[' + ",".join(parts) + "]}\n"


def generate(path: Path, spans: int, *, compress: bool, seed: int = 7) -> int:
    """Write about ``spans`` spans of OTLP JSON Lines to ``path``; return the count."""
    gen = _Gen(seed)
    written = 0
    t_ns = T0_NS
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    opener = gzip.open if compress else open
    with opener(tmp, "wt", encoding="utf-8") as raw:
        out: IO[str] = raw
        while written < spans:
            groups: dict[str, list[str]] = {}
            for _ in range(TRACES_PER_LINE):
                t_ns += gen.rng.randrange(1_000_000, 50_000_000)
                written += gen.trace(t_ns, groups, 40)
            out.write(_line(groups))
    tmp.replace(path)
    return written


_BASELINE = """
import json, sys, time
t = time.perf_counter()
n = 0
opener = __import__("gzip").open if sys.argv[1].endswith(".gz") else open
with opener(sys.argv[1], "rb") as f:
    for line in f:
        if line.strip():
            json.loads(line)
            n += 1
print(json.dumps({"seconds": time.perf_counter() - t, "lines": n}))
"""

_READ = """
import json, sys, time
import pandas, pyarrow
from rtt_topology.load.traces import read_traces

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
base = hwm()
t = time.perf_counter()
load = read_traces(sys.argv[1])
seconds = time.perf_counter() - t
print(json.dumps({
    "seconds": seconds, "spans": len(load.spans), "edges": len(load.edges),
    "rejected": load.report.rejected, "peak": hwm(), "base": base,
    "frame_bytes": int(load.spans.memory_usage(deep=True).sum()),
}))
"""


def _run(code: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--gzip", action="store_true", help="write and read .jsonl.gz")
    args = parser.parse_args()
    suffix = ".jsonl.gz" if args.gzip else ".jsonl"
    path = DATA / f"otlp-{args.spans}{suffix}"
    if not path.exists():
        t = time.perf_counter()
        n = generate(path, args.spans, compress=args.gzip)
        print(f"generated {n:,} spans in {time.perf_counter() - t:.1f} s -> {path}")
    size = path.stat().st_size
    print(f"file: {path.name}, {size / 1e6:.1f} MB")
    base = _run(_BASELINE, path)
    read = _run(_READ, path)
    mb = 1e6
    print(
        f"json.loads per line: {base['seconds']:.2f} s ({base['lines']:,} lines, "
        f"{size / mb / base['seconds']:.0f} MB/s)"
    )
    print(
        f"read_traces:         {read['seconds']:.2f} s, {read['spans']:,} spans, "
        f"{read['spans'] / read['seconds']:,.0f} spans/s, {read['edges']} edges, "
        f"{read['rejected']} rejected"
    )
    print(f"time ratio read_traces / json.loads: {read['seconds'] / base['seconds']:.2f}")
    print(
        f"peak memory (VmHWM): {read['peak'] / mb:.0f} MB "
        f"(after imports {read['base'] / mb:.0f} MB; span table {read['frame_bytes'] / mb:.0f} MB)"
    )
    print(
        f"peak / file size: {read['peak'] / size:.2f}; "
        f"(peak - imports) / file size: {(read['peak'] - read['base']) / size:.2f}; "
        f"bytes per span above imports: {(read['peak'] - read['base']) / read['spans']:.0f}"
    )


if __name__ == "__main__":
    main()
