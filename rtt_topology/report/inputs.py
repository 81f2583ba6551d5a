"""The report's inputs: files, loads, tables, history stores and histories, as tables.

:func:`as_beacons` turns what :func:`~rtt_topology.report.build.build_report` is given
for beacons into a beacon table or a :class:`~rtt_topology.aggregate.engines.History`
(a history store's directory is opened as one), in the window, with the load report;
:func:`store_load_report` is a store's load report, rebuilt from its ingests.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rtt_topology._progress import ProgressOption
from rtt_topology.errors import InputError

if TYPE_CHECKING:
    from rtt_topology.aggregate.engines import History
    from rtt_topology.diagnostics.corridors import CorridorSet
    from rtt_topology.diagnostics.rules.ruleset import RuleSet
    from rtt_topology.load import BeaconLoad, ProfileLoad, TraceLoad
    from rtt_topology.load.report import LoadReport
    from rtt_topology.schemas import Profile

__all__ = [
    "as_beacons",
    "as_corridors",
    "as_profiles",
    "as_rules",
    "as_spans",
    "store_load_report",
]

PathLike = str | os.PathLike[str]
Sources = PathLike | Sequence[PathLike]


def as_beacons(
    beacons: Sources | BeaconLoad | pd.DataFrame | History | None,
    progress: ProgressOption,
    start: datetime | None,
    end: datetime | None,
    stack: ExitStack,
) -> tuple[pd.DataFrame | History | None, LoadReport | None]:
    """Return the beacons in the window as a table or a history, and their load report.

    A history store (a directory with its marker) is opened as a history, closed
    when ``stack`` closes; a history is narrowed to the window.

    Examples
    --------
    >>> from contextlib import ExitStack
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> with ExitStack() as stack:
    ...     table, report = as_beacons(empty_beacon_frame(), False, None, None, stack)
    >>> len(table), report is None
    (0, True)
    """
    from rtt_topology.aggregate.engines import History, is_store
    from rtt_topology.graph.beacons import narrowed_history
    from rtt_topology.load import BeaconLoad, read_beacons

    if beacons is None:
        return None, None
    if isinstance(beacons, History):
        quarantined = None if beacons.store is None else store_load_report(beacons.store)
        return stack.enter_context(narrowed_history(beacons, start=start, end=end)), quarantined
    if isinstance(beacons, BeaconLoad):
        return _window(beacons.beacons, start, end), beacons.report
    if isinstance(beacons, pd.DataFrame):
        return _window(beacons, start, end), None
    one = _one_or_many(beacons)
    if isinstance(one, str | os.PathLike) and is_store(one):
        history = stack.enter_context(History.from_store(one, start=start, end=end))
        return history, store_load_report(one)
    load = read_beacons(one, progress=progress)
    if not load.report.files:
        failure = load.report.failures[0] if load.report.failures else None
        raise InputError(f"no beacon file could be read{f': {failure}' if failure else ''}")
    return _window(load.beacons, start, end), load.report


def as_profiles(
    profiles: Sources | ProfileLoad | Mapping[str, Profile] | None,
) -> tuple[Mapping[str, Profile] | None, LoadReport | None]:
    """Return profiles keyed by site (read from files when given files), and their report.

    Examples
    --------
    >>> as_profiles({})
    ({}, None)
    """
    from rtt_topology.load import ProfileLoad, read_profiles

    if profiles is None:
        return None, None
    if isinstance(profiles, ProfileLoad):
        return profiles.profiles, profiles.report
    if isinstance(profiles, Mapping):
        return profiles, None
    load = read_profiles(_one_or_many(profiles))
    return load.profiles, load.report


def as_spans(
    traces: Sources | TraceLoad | pd.DataFrame | None,
    start: Any,
    end: Any,
    progress: ProgressOption,
) -> tuple[pd.DataFrame | None, LoadReport | None]:
    """Return the span table (read from trace exports in the window when given files).

    Examples
    --------
    >>> as_spans(None, None, None, False)
    (None, None)
    """
    from rtt_topology.load import TraceLoad, read_traces

    if traces is None:
        return None, None
    if isinstance(traces, TraceLoad):
        return traces.spans, traces.report
    if isinstance(traces, pd.DataFrame):
        return traces, None
    load = read_traces(_one_or_many(traces), start=start, end=end, progress=progress)
    return load.spans, load.report


def _one_or_many(sources: Sources) -> Any:
    if isinstance(sources, str | os.PathLike):
        return sources
    items = list(sources)
    return items[0] if len(items) == 1 else items


def _window(beacons: pd.DataFrame, start: Any, end: Any) -> pd.DataFrame:
    if start is None and end is None:
        return beacons
    keep = pd.Series(True, index=beacons.index)
    if start is not None:
        keep &= beacons["ts"] >= pd.Timestamp(start)
    if end is not None:
        keep &= beacons["ts"] < pd.Timestamp(end)
    return beacons[keep].reset_index(drop=True)


def store_load_report(store: PathLike) -> LoadReport | None:
    r"""Return the load report of a history store: its ingests' reports and quarantine.

    The reports the ingests' manifests keep (files, failures, duplicates) are
    merged, oldest first, with the records they quarantined
    (:func:`~rtt_topology.store.read_rejects`); ``None`` for a store written
    without a load (nothing read, nothing quarantined).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rtt_topology.store import ingest
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.jsonl").write_text('{"site":"api","session":"s","event":"e","ts":"x"}\n')
    >>> _ = ingest(folder / "a.jsonl", folder / "store")
    >>> report = store_load_report(folder / "store")
    >>> report.read, report.rejected, report.rejects[0].reason
    (1, 1, 'not an ISO 8601 timestamp')
    """
    from rtt_topology.load.report import FileFailure, FileStats, LoadReport, Reject
    from rtt_topology.store import read_rejects

    report = LoadReport()
    manifests = sorted((Path(store) / "ingests").glob("*.json"))
    for manifest in manifests:
        data = json.loads(manifest.read_text(encoding="utf-8")).get("report", {})
        for stats in data.get("files", []):
            report.add_file(FileStats(**stats))
        report.failures.extend(FileFailure(**f) for f in data.get("failures", []))
        report.ignored_files.extend(data.get("ignored_files", []))
        report.duplicates += int(data.get("duplicates", 0))
        for site, n in data.get("duplicates_by_site", {}).items():
            report.duplicates_by_site[site] = report.duplicates_by_site.get(site, 0) + int(n)
    table = read_rejects(store)
    columns = ["source", "line", "field", "reason", "text"]
    for source, line, name, reason, text in table[columns].itertuples(index=False):
        report.rejects.append(
            Reject(
                str(source),
                None if pd.isna(line) else int(line),
                None if name is None or pd.isna(name) or name == "" else str(name),
                str(reason),
                str(text),
            )
        )
    if not report.files and not report.rejects and not report.failures:
        return None
    return report


def as_rules(rules: PathLike | RuleSet | None) -> RuleSet | None:
    """Return a rule set, read from its file when given a path.

    Examples
    --------
    >>> as_rules(None) is None
    True
    """
    from rtt_topology.diagnostics.rules.ruleset import RuleSet, load_rules

    if rules is None or isinstance(rules, RuleSet):
        return rules
    return load_rules(rules)


def as_corridors(corridors: PathLike | CorridorSet | None) -> CorridorSet | None:
    """Return a corridor set, read from its file when given a path.

    Examples
    --------
    >>> as_corridors(None) is None
    True
    """
    from rtt_topology.diagnostics.corridors import CorridorSet, load_corridors

    if corridors is None or isinstance(corridors, CorridorSet):
        return corridors
    return load_corridors(corridors)
