"""Describe the demo's ground truth and manifest as pydantic models.

``ground_truth.json`` is :class:`GroundTruth` serialised; every instant in it is
an ISO 8601 UTC string with milliseconds (``2026-01-19T07:12:00.123Z``), every
file path is relative to the output directory, and line numbers are 1-based
(counted in the decompressed text for ``.jsonl.gz`` files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "BeaconFileTruth",
    "ClusterTruth",
    "ConfigChangeTruth",
    "DemoManifest",
    "DemoParams",
    "DeployTruth",
    "DuplicateLine",
    "EdgeRef",
    "EdgeTruth",
    "GroundTruth",
    "IncidentTruth",
    "MalformedLine",
    "QuirkTruth",
    "ServiceTruth",
    "SessionTruth",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DemoParams(_Frozen):
    """The parameters the demo was generated with."""

    seed: int
    hours: float
    start: str
    end: str
    services: int
    traces_per_hour: int
    compress: bool


class SessionTruth(_Frozen):
    """One process lifetime: ``start`` may precede the window; ``end`` is None if running."""

    session: str
    start: str
    end: str | None
    end_reason: str
    first_beacon: str | None
    last_beacon: str | None
    beacons: int


class ServiceTruth(_Frozen):
    """One service: placement, declared facts and where its beacons went."""

    name: str
    cluster: str
    layer: str
    kind: str
    period_s: int
    declared: bool
    beacons: bool
    web: bool
    traced: bool
    lifecycle: str | None
    sdk: str
    ts_precision: str
    beacon_file: str | None
    profile_file: str | None
    depends_on: list[str]
    template: str | None
    beacon_count: int
    sessions: list[SessionTruth]


class ClusterTruth(_Frozen):
    """One cluster heartbeat source."""

    name: str
    session: str
    period_s: int
    beacon_file: str
    beacon_count: int


class EdgeRef(_Frozen):
    """A directed call from ``caller`` to ``callee``."""

    caller: str
    callee: str


class EdgeTruth(_Frozen):
    """A call edge seen in the traces (identical in the three trace files)."""

    caller: str
    callee: str
    kind: str
    via: str | None
    calls: int
    errors: int
    first_seen: str
    last_seen: str
    declared: bool
    incident: str | None
    sample_trace_ids: list[str]


class IncidentTruth(_Frozen):
    """An injected incident; ``end`` is None when it lasts to the end of the window."""

    id: str
    type: str
    services: list[str]
    start: str
    end: str | None
    details: dict[str, Any]


class DeployTruth(_Frozen):
    """A deploy: ``deploy_start`` in the old session, ``deploy_finish`` in the new one."""

    service: str
    start: str
    finish: str
    old_session: str
    new_session: str


class ConfigChangeTruth(_Frozen):
    """A ``config_change`` beacon."""

    service: str
    ts: str


class MalformedLine(_Frozen):
    """A deliberately invalid line; ``based_on_line`` is the valid line it was made from.

    Kinds: ``invalid_json`` (a line cut in half), ``naive_ts`` (no ``Z``),
    ``negative_count`` (``dom_nodes: -1``), ``string_count`` (``"nav_count": "8"``)
    and ``missing_site``. Read with ``assume_utc``, a ``naive_ts`` line becomes an
    exact duplicate of its ``based_on_line``.
    """

    file: str
    line: int
    kind: str
    site: str
    based_on_line: int


class BeaconFileTruth(_Frozen):
    """One file holding beacons: its lines, valid beacons (duplicates included) and bad lines.

    ``format`` is ``jsonl``, ``node_log`` or ``python_log``. For logs, ``lines``
    counts text lines and ``beacons`` the ``[RTT] ... sent`` entries.
    """

    file: str
    format: str
    lines: int
    beacons: int
    malformed: int
    duplicates: int


class DuplicateLine(_Frozen):
    """An exact copy of the valid line ``original_line`` (an SDK retry)."""

    file: str
    line: int
    original_line: int
    site: str


class QuirkTruth(_Frozen):
    """A format quirk applied to some spans only."""

    type: str
    format: str
    description: str
    services: list[str]
    trace_ids: list[str]


class GroundTruth(_Frozen):
    """Everything injected into the demo, with times, files and line numbers."""

    params: DemoParams
    layers: list[str]
    files: dict[str, list[str]]
    beacon_files: list[BeaconFileTruth]
    clusters: list[ClusterTruth]
    services: list[ServiceTruth]
    declared_dependencies: list[EdgeRef]
    edges: list[EdgeTruth]
    incidents: list[IncidentTruth]
    deploys: list[DeployTruth]
    config_changes: list[ConfigChangeTruth]
    malformed_lines: list[MalformedLine]
    duplicate_lines: list[DuplicateLine]
    undeclared_services: list[str]
    declared_silent: str
    deprecated: list[str]
    experimental: list[str]
    log_only: dict[str, str]
    undeclared_edge: EdgeRef
    layering_violation: EdgeRef
    quirks: list[QuirkTruth]
    counts: dict[str, int]

    def incident(self, type_: str) -> IncidentTruth:
        """Return the first incident of a type (``crash``, ``restart_storm``...).

        Parameters
        ----------
        type_
            The incident type.

        Returns
        -------
        IncidentTruth
            The incident.

        Raises
        ------
        KeyError
            If no incident has that type.

        Examples
        --------
        >>> from rtt_topology.demo import build_scenario
        >>> truth = build_scenario(hours=2, services=8, traces_per_hour=5).ground_truth
        >>> truth.incident("cadence_slowdown").details["period_after_s"] > 100
        True
        """
        for item in self.incidents:
            if item.type == type_:
                return item
        raise KeyError(type_)

    def service(self, name: str) -> ServiceTruth:
        """Return a service by name.

        Parameters
        ----------
        name
            The service name.

        Returns
        -------
        ServiceTruth
            The service.

        Raises
        ------
        KeyError
            If there is no such service.

        Examples
        --------
        >>> from rtt_topology.demo import build_scenario
        >>> truth = build_scenario(hours=2, services=8, traces_per_hour=5).ground_truth
        >>> truth.service("orders-db").layer
        'data'
        """
        for item in self.services:
            if item.name == name:
                return item
        raise KeyError(name)


class DemoManifest(_Frozen):
    """What :func:`~rtt_topology.demo.generate_demo` wrote, with counts and ground truth.

    Paths in ``files`` are relative to ``root``; ``path(key)`` joins them.
    """

    root: Path
    files: dict[str, list[str]]
    beacons_per_file: dict[str, int]
    lines_per_file: dict[str, int]
    malformed_lines: int
    duplicate_lines: int
    traces: int
    spans: int
    ground_truth: GroundTruth

    def paths(self, key: str) -> list[Path]:
        """Return the absolute paths of one group of files.

        Parameters
        ----------
        key
            ``beacons``, ``logs``, ``profiles``, ``traces`` or ``ground_truth``.

        Returns
        -------
        list of Path
            Under ``root``.

        Examples
        --------
        >>> import tempfile
        >>> from rtt_topology.demo import generate_demo
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     manifest = generate_demo(tmp, hours=2, services=8, traces_per_hour=5)
        ...     [p.name for p in manifest.paths("traces")]
        ['jaeger.json', 'zipkin.json', 'otlp.jsonl']
        """
        return [self.root / p for p in self.files[key]]
