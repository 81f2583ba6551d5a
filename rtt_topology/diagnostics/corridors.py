"""Check declared corridors against the service paths that traces show.

A **corridor** (upstream: "an allowed path through the system"; the file format
and these rules are ours) is a route of services from an entry point, with a
latency bound::

    version: 1
    corridors:
      - name: checkout
        path: [shop.example.com, api-gateway, orders-api, payments-api, payments-db]
        max_latency_ms: 250
        description: a customer pays an order

Observed flows (:func:`observed_paths`)
---------------------------------------
The observed flows are the root-to-leaf service paths of the traces
(:func:`observed_paths`, defined in :mod:`rtt_topology.diagnostics.paths`, whose
docstring states the rules): a trace's spans grouped into service visits, peers
of unanswered client spans included, one row per distinct path with the traces
showing it and their end-to-end latency (from the start of the root visit to
the latest end of a span of a visit on the path).

Corridor check (:func:`check_corridors`)
----------------------------------------
Corridors are anchored at trace roots: a corridor's first service is where the
requests that follow it enter the system. Against the observed paths:

- an observed path **follows** a corridor when it equals the corridor's path;
- it **stops on** a corridor when it is a proper prefix of the corridor's path
  (the flow ended early, e.g. served from a cache, or failed);
- a path that follows or stops on some corridor is **covered**; any other path is
  **uncovered**. An uncovered path whose root is a corridor's first service
  **diverges** from the corridors with which it shares the longest prefix (all
  of them on a tie): at hop ``k``, after ``path[k-1]``, the corridor expected
  ``corridor[k]`` (``None`` when the corridor ends there) and the flow went to
  ``path[k]``.

Status of a corridor, first match:

=============  ===================================================================
off_corridor   uncovered paths diverge from it
too_slow       followed, and the p95 latency of the flows that follow it exceeds
               ``max_latency_ms``
aligned        followed, within the bound (or without one)
unused         never followed (flows that only stopped on it are counted apart)
=============  ===================================================================
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    field_validator,
)

from rtt_topology.diagnostics.paths import OBSERVED_PATH_COLUMNS, observed_paths
from rtt_topology.diagnostics.policy_files import (
    Document,
    describe,
    item_error,
    parse_document,
    read_document,
)
from rtt_topology.errors import InputError

__all__ = [
    "CORRIDOR_STATUSES",
    "OBSERVED_PATH_COLUMNS",
    "Corridor",
    "CorridorResult",
    "CorridorResults",
    "CorridorSet",
    "Divergence",
    "UncoveredPath",
    "check_corridors",
    "load_corridors",
    "observed_paths",
    "parse_corridors",
]

#: Corridor statuses, from the best to the worst.
CORRIDOR_STATUSES: tuple[str, ...] = ("aligned", "unused", "too_slow", "off_corridor")


# -- the corridors file ---------------------------------------------------------------------


class Corridor(BaseModel):
    """One declared corridor.

    Attributes
    ----------
    name
        Unique name in its file.
    path
        Services from the entry point (a trace root) to the last one, at least two,
        no service twice in a row.
    max_latency_ms
        Bound on the p95 end-to-end latency of the flows that follow it; ``None``
        for no bound.
    description
        Free text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(min_length=1)
    path: list[str] = Field(min_length=2)
    max_latency_ms: float | None = Field(default=None, gt=0)
    description: str | None = None

    @field_validator("path")
    @classmethod
    def _no_repeat(cls, path: list[str]) -> list[str]:
        if any(not name for name in path):
            raise ValueError("service names must not be empty")
        for a, b in pairwise(path):
            if a == b:
                raise ValueError(f"{a} follows itself: one service visit is one step")
        return path


class CorridorSet(BaseModel):
    """A corridors file: ``{version: 1, corridors: [...]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    corridors: list[Corridor] = Field(default_factory=list)


_NOUNS = {
    "name": "a non-empty string",
    "path": "a list of service names",
    "max_latency_ms": "a number of milliseconds",
    "description": "a string",
    "corridors": "a list of corridors",
}


def _corridor_set(document: Document) -> CorridorSet:
    data = document.data
    unknown = sorted(set(data) - {"version", "corridors"})
    if unknown:
        raise item_error(document, (unknown[0],), "unknown field (expected version, corridors)")
    if data.get("version", 1) != 1:
        raise item_error(document, ("version",), f"unsupported version {data['version']!r}: 1")
    raw = data.get("corridors", [])
    if not isinstance(raw, list):
        raise item_error(document, ("corridors",), "expected a list of corridors")
    corridors: list[Corridor] = []
    first: dict[str, int] = {}
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        label = name if isinstance(name, str) and name else None
        where = ("corridors", index, label)
        if not isinstance(item, dict):
            raise item_error(document, (), "expected a mapping", item=where)
        try:
            corridor = Corridor.model_validate(item)
        except ValidationError as exc:
            raise item_error(document, *_described(exc), item=where) from exc
        if corridor.name in first:
            reason = f"duplicate corridor name (first at corridors[{first[corridor.name]}])"
            raise item_error(document, ("name",), reason, item=where)
        first[corridor.name] = index
        corridors.append(corridor)
    return CorridorSet(corridors=corridors)


def _described(exc: ValidationError) -> tuple[tuple[str | int, ...], str]:
    return describe(exc, _NOUNS)


def parse_corridors(text: str, *, source: str = "<corridors>") -> CorridorSet:
    r"""Parse the text of a corridors file (YAML or JSON).

    Parameters
    ----------
    text
        The document.
    source
        Its name in error messages.

    Returns
    -------
    CorridorSet
        The corridors, in file order.

    Raises
    ------
    LoadError
        If the text is not one YAML or JSON mapping (or uses a YAML tag).
    RecordError
        For a bad corridor: ``FILE:LINE: corridors[i] (name): field: reason``.

    Examples
    --------
    >>> text = "corridors:\n  - name: login\n    path: [web, auth, users-db]\n"
    >>> parse_corridors(text).corridors[0].path
    ['web', 'auth', 'users-db']
    >>> parse_corridors("corridors:\n  - name: x\n    path: web\n")
    Traceback (most recent call last):
    ...
    rtt_topology.errors.RecordError: <corridors>:3: corridors[0] (x): path: expected a list of service names, got a string
    """  # noqa: E501
    return _corridor_set(parse_document(text, source=source))


def load_corridors(source: str | os.PathLike[str]) -> CorridorSet:
    """Read a corridors file (``.yaml``, ``.yml``, ``.json``), or parse corridors text.

    Parameters
    ----------
    source
        A path, or the document itself (a ``str`` with a line break, or starting
        with ``{``).

    Returns
    -------
    CorridorSet
        The corridors.

    Raises
    ------
    SourceNotFoundError, LoadError, RecordError
        As for :func:`rtt_topology.diagnostics.rules.load_rules`.

    Examples
    --------
    >>> load_corridors('{"corridors": [{"name": "a", "path": ["x", "y"]}]}').corridors[0].name
    'a'
    """
    return _corridor_set(read_document(source, label="<corridors>"))


# -- the check ------------------------------------------------------------------------------


class Divergence(BaseModel):
    """An observed path that left a corridor: where, and how many traces did so."""

    path: list[str]
    calls: int
    hop: int
    after: str
    expected: str | None
    observed: str
    sample_trace_ids: list[str] = Field(default_factory=list)


class CorridorResult(BaseModel):
    """The verdict on one corridor.

    Attributes
    ----------
    calls, errors
        Traces that followed the corridor (the observed path equal to it), and
        those with a failed span on it.
    latency_p50_ms, latency_p95_ms
        End-to-end latency of these traces (``None`` when not followed).
    stopped_calls
        Traces that ended early on the corridor (observed paths that are proper
        prefixes of it), summed over those paths (a trace may count twice).
    within_latency
        p95 within ``max_latency_ms``; ``None`` without a bound or without calls.
    off_corridor
        The uncovered paths that diverge from it.
    """

    name: str
    path: list[str]
    max_latency_ms: float | None
    description: str | None = None
    status: Literal["aligned", "unused", "too_slow", "off_corridor"]
    calls: int = 0
    errors: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    within_latency: bool | None = None
    stopped_calls: int = 0
    sample_trace_ids: list[str] = Field(default_factory=list)
    off_corridor: list[Divergence] = Field(default_factory=list)


class UncoveredPath(BaseModel):
    """An observed path that follows and stops on no corridor."""

    path: list[str]
    calls: int
    latency_p95_ms: float | None
    sample_trace_ids: list[str] = Field(default_factory=list)
    diverges_from: list[str] = Field(default_factory=list)


class CorridorResults(BaseModel):
    """The corridor check, JSON-ready (``model_dump(mode="json")``)."""

    corridors: list[CorridorResult]
    uncovered: list[UncoveredPath]
    observed_paths: int
    covered_paths: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def aligned(self) -> bool:
        """Whether no corridor is too slow or left by observed flows."""
        return all(c.status in ("aligned", "unused") for c in self.corridors)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        """Corridors per status."""
        return {s: sum(c.status == s for c in self.corridors) for s in CORRIDOR_STATUSES}

    def result(self, name: str) -> CorridorResult:
        """Return the result of one corridor by name."""
        for c in self.corridors:
            if c.name == name:
                return c
        raise KeyError(name)


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    k = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        k += 1
    return k


def _number(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) else number


def check_corridors(
    corridors: CorridorSet | Sequence[Corridor], observed: pd.DataFrame
) -> CorridorResults:
    r"""Compare declared corridors with observed paths.

    The rules (follow, stop on, cover, diverge; statuses) are in the module
    docstring.

    Parameters
    ----------
    corridors
        The corridors (:func:`load_corridors`).
    observed
        What :func:`observed_paths` returned (``path``, ``calls``, ``errors``,
        ``latency_p50_ms``, ``latency_p95_ms``, ``sample_trace_ids``).

    Returns
    -------
    CorridorResults
        One :class:`CorridorResult` per corridor, in declaration order, and the
        uncovered paths (most calls first).

    Examples
    --------
    >>> import pandas as pd
    >>> observed = pd.DataFrame({
    ...     "path": [("web", "api", "db"), ("web", "api", "cache"), ("web", "api")],
    ...     "calls": [10, 4, 1], "errors": [0, 0, 1],
    ...     "latency_p50_ms": [20.0, 8.0, 3.0], "latency_p95_ms": [45.0, 9.0, 3.0],
    ...     "sample_trace_ids": [["t1"], ["t2"], ["t3"]],
    ... })
    >>> declared = parse_corridors(
    ...     "corridors:\n"
    ...     "  - {name: read, path: [web, api, db], max_latency_ms: 40}\n"
    ...     "  - {name: admin, path: [admin, api]}\n"
    ... )
    >>> result = check_corridors(declared, observed)
    >>> [(c.name, c.status) for c in result.corridors]
    [('read', 'off_corridor'), ('admin', 'unused')]
    >>> d = result.corridors[0].off_corridor[0]
    >>> d.after, d.expected, d.observed, d.calls
    ('api', 'db', 'cache', 4)
    >>> result.corridors[0].within_latency, result.corridors[0].stopped_calls
    (False, 1)
    """
    declared = list(corridors.corridors if isinstance(corridors, CorridorSet) else corridors)
    needed = ("path", "calls", "errors", "latency_p50_ms", "latency_p95_ms", "sample_trace_ids")
    missing = [c for c in needed if c not in observed.columns]
    if missing:
        raise InputError(f"not an observed path table: missing column(s) {', '.join(missing)}")
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in record.items()} for record in observed.to_dict("records")
    ]
    routes = [tuple(c.path) for c in declared]
    entries: dict[str, list[int]] = {}
    for i, route in enumerate(routes):
        entries.setdefault(route[0], []).append(i)
    exact: dict[int, dict[str, Any]] = {}
    stopped = [0] * len(declared)
    off: list[list[Divergence]] = [[] for _ in declared]
    uncovered: list[UncoveredPath] = []
    covered = 0
    for row in rows:
        path = tuple(str(s) for s in row["path"])
        samples = [str(t) for t in row["sample_trace_ids"]]
        calls = int(row["calls"])
        hits = False
        for i, route in enumerate(routes):
            if path == route:
                exact[i] = row
                hits = True
            elif len(path) < len(route) and route[: len(path)] == path:
                stopped[i] += calls
                hits = True
        if hits:
            covered += 1
            continue
        candidates = entries.get(path[0], [])
        shared = {i: _common_prefix(path, routes[i]) for i in candidates}
        best = max(shared.values(), default=0)
        names = []
        for i in candidates:
            if shared[i] != best:
                continue
            k, route = best, routes[i]
            off[i].append(
                Divergence(
                    path=list(path),
                    calls=calls,
                    hop=k,
                    after=path[k - 1],
                    expected=route[k] if k < len(route) else None,
                    observed=path[k],
                    sample_trace_ids=samples,
                )
            )
            names.append(declared[i].name)
        uncovered.append(
            UncoveredPath(
                path=list(path),
                calls=calls,
                latency_p95_ms=_number(row["latency_p95_ms"]),
                sample_trace_ids=samples,
                diverges_from=names,
            )
        )
    results = [
        _corridor_result(c, exact.get(i), stopped[i], off[i]) for i, c in enumerate(declared)
    ]
    uncovered.sort(key=lambda u: (-u.calls, u.path))
    return CorridorResults(
        corridors=results, uncovered=uncovered, observed_paths=len(rows), covered_paths=covered
    )


def _corridor_result(
    corridor: Corridor, row: dict[str, Any] | None, stopped: int, off: list[Divergence]
) -> CorridorResult:
    calls = int(row["calls"]) if row is not None else 0
    p50 = _number(row["latency_p50_ms"]) if row is not None else None
    p95 = _number(row["latency_p95_ms"]) if row is not None else None
    within = None
    if corridor.max_latency_ms is not None and p95 is not None:
        within = p95 <= corridor.max_latency_ms
    status: Literal["aligned", "unused", "too_slow", "off_corridor"]
    if off:
        status = "off_corridor"
    elif not calls:
        status = "unused"
    elif within is False:
        status = "too_slow"
    else:
        status = "aligned"
    return CorridorResult(
        name=corridor.name,
        path=list(corridor.path),
        max_latency_ms=corridor.max_latency_ms,
        description=corridor.description,
        status=status,
        calls=calls,
        errors=int(row["errors"]) if row is not None else 0,
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        within_latency=within,
        stopped_calls=stopped,
        sample_trace_ids=[str(t) for t in row["sample_trace_ids"]] if row is not None else [],
        off_corridor=sorted(off, key=lambda d: (-d.calls, d.path)),
    )
