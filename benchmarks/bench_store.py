"""Benchmark: a week of a datacenter in a history store, analysed out of core by DuckDB.

Steps (each in a fresh process; its wall time and peak memory, the process's
``ru_maxrss``, are printed):

``generate``
    :func:`rtt_topology.demo.scaled.write_scaled_store` writes ``--services``
    services x ``--days`` days at ``--period`` seconds straight into the store's
    layout (10,000 x 7 x 60 s is about 100M beacons).
``ingest``, ``duckdb-copy``
    A JSON Lines sample of ``--sample`` beacons (written once, kept under
    ``benchmarks/data/``) ingested into a new store with
    :func:`rtt_topology.store.ingest`, against DuckDB's own
    ``COPY (SELECT ... FROM read_ndjson(...)) TO ... (FORMAT parquet)`` on the same
    columns; the rate is beacons per second.
``info``
    ``rtt-topology store info DIR``.
``status``
    ``rtt-topology status --store DIR`` (at the end of the history).
``report``
    ``rtt-topology report --store DIR --bucket 1h`` over the whole history (HTML);
    the per-bucket tables hold services x buckets rows (10,000 x 168 for a week
    at ``--bucket 1h``, 20M at the report's default 5 min).
``report-10m-duckdb``, ``report-10m-pandas``
    The same report over a window of about ``--window-beacons`` beacons, with the
    DuckDB engine and with the pandas engine, for the ratio.

The issue's limits (2 cores, 24 GB): the week's report under 6 GB peak and 10
minutes, ``status`` under 30 s. Keep the store between runs with ``--dir`` and
``--skip-generate``; run some steps only with ``--steps``.

Usage::

    python benchmarks/bench_store.py --services 10000 --days 7 --dir /data/store-week
    python benchmarks/bench_store.py --services 500 --days 1 --steps generate,status,report
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

DATA = Path(__file__).parent / "data"
STEPS = (
    "generate",
    "ingest",
    "duckdb-copy",
    "info",
    "status",
    "report",
    "report-10m-duckdb",
    "report-10m-pandas",
)
START = datetime(2026, 1, 19, tzinfo=UTC)

# Each step runs this wrapper: the code between the markers, timed; then its peak RSS.
_WRAPPER = """
import json, resource, sys, time
args = json.loads(sys.argv[1])
started = time.perf_counter()
result = {}
#---
result["seconds"] = time.perf_counter() - started
result["peak_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(result))
"""

_CLI = """
import contextlib, io
from rtt_topology.cli.app import main
sink = io.StringIO()
with contextlib.redirect_stdout(sink):
    code = main(args["argv"])
result["exit"] = code
result["output_lines"] = len(sink.getvalue().splitlines())
"""

_CODE = {
    "generate": """
from rtt_topology.demo.scaled import write_scaled_store
result["rows"] = write_scaled_store(args["store"], services=args["services"],
                                    days=args["days"], period_s=args["period"])
""",
    "ingest": """
from rtt_topology.store import ingest
outcome = ingest(args["sample"], args["target"])
result["rows"] = outcome.report.rows
""",
    "duckdb-copy": """
import duckdb
columns = ("{site: 'VARCHAR', session: 'VARCHAR', event: 'VARCHAR', ts: 'VARCHAR', "
           "structure: 'STRUCT(url VARCHAR, title VARCHAR, nav_count BIGINT, main_count BIGINT, "
           "form_count BIGINT, button_count BIGINT, dom_nodes BIGINT)'}")
con = duckdb.connect()
con.execute(
    "COPY (SELECT site, session, event, CAST(ts AS TIMESTAMPTZ) AS ts, structure.url AS url, "
    "structure.title AS title, structure.nav_count AS nav_count, "
    "structure.main_count AS main_count, structure.form_count AS form_count, "
    "structure.button_count AS button_count, structure.dom_nodes AS dom_nodes "
    f"FROM read_ndjson('{args['sample']}', columns={columns})) "
    f"TO '{args['target']}' (FORMAT parquet)"
)
result["rows"] = con.execute(f"SELECT count(*) FROM '{args['target']}'").fetchall()[0][0]
""",
}


def _run(step: str, code: str, args: dict[str, object]) -> dict[str, object]:
    """Run one step in a fresh process; return its result (seconds, peak bytes, more)."""
    program = _WRAPPER.replace("#---", code)
    completed = subprocess.run(
        [sys.executable, "-c", program, json.dumps(args)], capture_output=True, text=True
    )
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-3:]
        return {"error": " | ".join(tail) or f"exit {completed.returncode}"}
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _sample(beacons: int, services: int) -> Path:
    """Return the JSON Lines sample (written once)."""
    path = DATA / f"beacons-{beacons}-{services}.jsonl"
    if not path.exists():
        from rtt_topology.demo.scaled import write_scaled_beacons

        DATA.mkdir(parents=True, exist_ok=True)
        write_scaled_beacons(path, beacons=beacons, services=services)
    return path


def _window_end(args: argparse.Namespace) -> str:
    """Return the end of the window that holds about ``--window-beacons`` beacons."""
    per_second = args.services / args.period
    seconds = min(args.window_beacons / per_second, args.days * 86_400)
    return (START + timedelta(seconds=seconds)).isoformat()


def _describe(step: str, result: dict[str, object]) -> str:
    if "error" in result:
        return f"{step:<18} failed: {result['error']}"
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    peak = int(result["peak_bytes"]) / 1e9  # type: ignore[call-overload]
    line = f"{step:<18} {seconds:8.2f} s  peak {peak:6.2f} GB"
    if "rows" in result:
        rows = int(result["rows"])  # type: ignore[call-overload]
        line += f"  {rows:>12,} beacons  {rows / max(seconds, 1e-9) / 1e6:6.2f} M beacons/s"
    if "exit" in result:
        line += f"  exit {result['exit']}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--period", type=float, default=60.0, help="Beacon period, seconds.")
    parser.add_argument("--dir", type=Path, help="The store (kept); default a temporary one.")
    parser.add_argument("--skip-generate", action="store_true", help="Reuse the store in --dir.")
    parser.add_argument("--steps", default=",".join(STEPS), help="Comma-separated steps.")
    parser.add_argument("--sample", type=int, default=5_000_000, help="Beacons to ingest.")
    parser.add_argument("--window-beacons", type=int, default=10_000_000)
    parser.add_argument("--memory-limit", help="DuckDB's memory limit for the commands.")
    parser.add_argument(
        "--bucket",
        default="1h",
        help="The reports' time bucket: per-bucket tables hold services x buckets rows.",
    )
    args = parser.parse_args()
    steps = [s for s in args.steps.split(",") if s]
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}; the steps are {STEPS}")
    if args.skip_generate and "generate" in steps:
        steps.remove("generate")
    scratch = Path(tempfile.mkdtemp(prefix="bench-store-"))
    store = args.dir or scratch / "store"
    if "generate" in steps and store.exists():
        shutil.rmtree(store)
    settings = ["--memory-limit", args.memory_limit] if args.memory_limit else []
    report = scratch / "report.html"
    window = ["--to", _window_end(args)]
    bucket = ["--bucket", args.bucket]
    commands = {
        "info": ["store", "info", str(store)],
        "status": ["status", "--store", str(store), *settings],
        "report": ["report", "--store", str(store), *bucket, "-o", str(report), *settings],
        "report-10m-duckdb": ["report", "--store", str(store), *window, *bucket,
                              "--engine", "duckdb", "-o", str(report), *settings],
        "report-10m-pandas": ["report", "--store", str(store), *window, *bucket,
                              "--engine", "pandas", "-o", str(report)],
    }  # fmt: skip
    print(
        f"{args.services} services x {args.days} days at {args.period:g} s "
        f"(about {args.services * args.days * 86_400 / args.period / 1e6:.1f}M beacons); "
        f"store {store}"
    )
    results: dict[str, dict[str, object]] = {}
    try:
        for step in steps:
            if step in commands:
                result = _run(step, _CLI, {"argv": commands[step]})
            elif step == "generate":
                size = {"services": args.services, "days": args.days, "period": args.period}
                result = _run(step, _CODE[step], {"store": str(store), **size})
            else:
                sample = _sample(args.sample, 2_000)
                target = scratch / ("ingested" if step == "ingest" else "copy.parquet")
                result = _run(step, _CODE[step], {"sample": str(sample), "target": str(target)})
            results[step] = result
            print(_describe(step, result), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _verdicts(results)


def _verdicts(results: dict[str, dict[str, object]]) -> None:
    """Print the ratios and the issue's limits."""

    def seconds(step: str) -> float | None:
        value = results.get(step, {}).get("seconds")
        return None if value is None else float(value)  # type: ignore[arg-type]

    ours, theirs = seconds("ingest"), seconds("duckdb-copy")
    if ours and theirs:
        print(f"ingest / DuckDB COPY: {ours / theirs:.2f} x (required <= 1.5, aim 1.2)")
    pandas, duck = seconds("report-10m-pandas"), seconds("report-10m-duckdb")
    if pandas and duck:
        print(f"report on the window, pandas / DuckDB: {pandas / duck:.2f} x")
    week = results.get("report", {})
    if "seconds" in week:
        peak = int(week["peak_bytes"]) / 1e9  # type: ignore[call-overload]
        ok = peak < 6 and float(week["seconds"]) < 600  # type: ignore[arg-type]
        print(f"report: {'ok' if ok else 'OVER'} (limit 6 GB and 600 s)")
    status = seconds("status")
    if status is not None:
        print(f"status: {'ok' if status < 30 else 'OVER'} (limit 30 s)")


if __name__ == "__main__":
    main()
