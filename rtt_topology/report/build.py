"""The offline datacenter report: one file an operator can open, archive and mail.

:func:`build_report` reads the inputs (or takes tables already loaded), runs
every analysis of the library on them, and returns a :class:`Report`: sections
of facts, tables and figures. The report renders as

- **HTML** (:meth:`Report.to_html`): one self-contained page, figures inline as
  PNG, styles inline, no script and no external resource (its
  Content-Security-Policy forbids both), so it opens offline in any browser;
- **Markdown** (:meth:`Report.to_markdown`): the same content, figures as files
  beside the document or inline;
- **JSON** (:meth:`Report.to_json`): the same content as data, without images.

Sections, in order: summary (window, services by state, system coherence),
incidents and root causes (with the liveness swimlane), topology, declared vs
observed, rules and corridors, triads, drift and coherence over time,
readiness checklist, inputs and quarantined records.

Every string that came from the data is escaped by the renderer of each
format. Tables keep their ``top_n`` most important rows and say how many they
leave out; figures draw a bounded number of services (the topology is drawn
per group above a size), so a report over thousands of services stays
readable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from rtt_topology._memo import reuse
from rtt_topology._progress import ProgressOption, progress_reporter
from rtt_topology._timestamps import aware_utc
from rtt_topology._version import __version__
from rtt_topology.errors import InputError
from rtt_topology.report.model import Facts, FigureBlock, Note, Section, TableBlock

if TYPE_CHECKING:
    from rtt_topology.aggregate.engines import Engine, History
    from rtt_topology.diagnostics.corridors import CorridorSet
    from rtt_topology.diagnostics.rules.ruleset import RuleSet
    from rtt_topology.load import BeaconLoad, ProfileLoad, TraceLoad
    from rtt_topology.report.analyses import Analysis
    from rtt_topology.schemas import Profile

__all__ = [
    "FORMATS",
    "Facts",
    "FigureBlock",
    "Note",
    "Report",
    "Section",
    "TableBlock",
    "build_report",
]

Format = Literal["html", "md", "json"]
#: Output formats, and the file suffixes that choose them.
FORMATS: dict[str, Format] = {".html": "html", ".htm": "html", ".md": "md", ".json": "json"}

PathLike = str | os.PathLike[str]
Sources = PathLike | Sequence[PathLike]


@dataclass
class Report:
    """A rendered-once, written-many report.

    Attributes
    ----------
    title
        The report's title.
    sections
        The sections, in order (:class:`Section`: ``id``, ``title``, ``blocks``).
    start, end
        The window of the beacons (``None`` without beacons).
    generated_at
        When the report was built (UTC).
    analysis
        Every table and result the report was made from, for further work in a
        notebook (``None`` for a report read back from elsewhere).
    """

    title: str
    sections: list[Section]
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    analysis: Analysis | None = field(default=None, repr=False)

    @property
    def subtitle(self) -> str:
        """One line: the window and the number of services."""
        if self.start is None or self.end is None or pd.isna(self.start):
            window = "no beacons"
        else:
            window = f"{self.start:%Y-%m-%d %H:%M:%S} to {self.end:%Y-%m-%d %H:%M:%S} UTC"
        services = ""
        if self.analysis is not None:
            services = f" · {self.analysis.G.number_of_nodes()} services"
        return f"{window}{services}"

    @property
    def footer(self) -> str:
        """Who made the report and when."""
        return f"generated {self.generated_at:%Y-%m-%d %H:%M:%S} UTC by rtt-topology {__version__}"

    def section(self, id: str) -> Section:
        """Return a section by id (``summary``, ``incidents``, ``topology``...).

        Raises
        ------
        KeyError
            If the report has no such section.
        """
        for section in self.sections:
            if section.id == id:
                return section
        raise KeyError(f"no section {id!r}; the sections are {[s.id for s in self.sections]}")

    def to_html(self) -> str:
        """Render the report as one self-contained HTML page."""
        from rtt_topology.report.render import render_html

        return render_html(
            self.sections, title=self.title, subtitle=self.subtitle, footer=self.footer,
            version=__version__,
        )  # fmt: skip

    def to_markdown(self, figure_dir: PathLike | None = None) -> str:
        """Render the report as Markdown.

        Parameters
        ----------
        figure_dir
            Where to write the figures as PNG files (linked by the directory's
            name, so keep it beside the document); ``None`` embeds them as
            ``data:`` URIs.
        """
        from rtt_topology.report.render import render_markdown

        return render_markdown(
            self.sections, title=self.title, subtitle=self.subtitle, footer=self.footer,
            figure_dir=figure_dir,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (figures by title and caption only)."""
        return {
            "title": self.title,
            "generator": f"rtt-topology {__version__}",
            "generated_at": self.generated_at.isoformat(),
            "window": {
                "start": None if self.start is None else self.start.isoformat(),
                "end": None if self.end is None else self.end.isoformat(),
            },
            "sections": [s.to_dict() for s in self.sections],
        }

    def to_json(self) -> str:
        """Render the report as indented JSON (see :meth:`to_dict`)."""
        from rtt_topology.report.render import render_json

        head = {k: v for k, v in self.to_dict().items() if k != "sections"}
        return render_json(head, self.sections)

    def write(self, path: PathLike, *, format: Format | None = None) -> Path:
        """Write the report to a file; the format comes from the suffix unless given.

        Markdown figures go to a directory ``<name>_files`` beside the file.

        Parameters
        ----------
        path
            The file to write (its directory is created).
        format
            ``"html"``, ``"md"`` or ``"json"``; default: from the suffix.

        Returns
        -------
        pathlib.Path
            The file written.

        Raises
        ------
        InputError
            If the format is unknown or cannot be told from the suffix.
        """
        target = Path(path)
        chosen = format or FORMATS.get(target.suffix.lower())
        if chosen not in ("html", "md", "json"):
            raise InputError(
                f"{target}: cannot tell the report format from the suffix "
                f"{target.suffix!r}; use .html, .md or .json, or pass format"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        if chosen == "html":
            text = self.to_html()
        elif chosen == "md":
            text = self.to_markdown(figure_dir=target.parent / f"{target.stem}_files")
        else:
            text = self.to_json() + "\n"
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(target)
        return target

    def _repr_html_(self) -> str:
        """Show the report inline in Jupyter."""
        return self.to_html()


def build_report(
    beacons: Sources | BeaconLoad | pd.DataFrame | History | None = None,
    profiles: Sources | ProfileLoad | Mapping[str, Profile] | None = None,
    traces: Sources | TraceLoad | pd.DataFrame | None = None,
    *,
    rules: PathLike | RuleSet | None = None,
    corridors: PathLike | CorridorSet | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    bucket: str = "5min",
    top_n: int = 20,
    title: str = "RTT datacenter report",
    generated_at: datetime | None = None,
    progress: ProgressOption = False,
    engine: Engine = "auto",
) -> Report:
    r"""Read the inputs, analyse them and lay out the report.

    Parameters
    ----------
    beacons
        Beacon files, directories or globs (as for
        :func:`~rtt_topology.load.read_beacons`), a :class:`~rtt_topology.load.BeaconLoad`,
        a beacon table, a history store's directory, or a
        :class:`~rtt_topology.aggregate.engines.History`. A store or a history is
        analysed out of core: only per-service and per-bucket tables are loaded.
    profiles
        Profile files or a directory, a :class:`~rtt_topology.load.ProfileLoad`, or
        profiles keyed by site.
    traces
        Trace exports, a :class:`~rtt_topology.load.TraceLoad`, or a span table.
    rules, corridors
        A rules file or :class:`~rtt_topology.diagnostics.rules.RuleSet`; a corridors file or
        :class:`~rtt_topology.diagnostics.corridors.CorridorSet`.
    start, end
        The window (ISO 8601 with an offset, or aware datetimes); default: all data.
    bucket
        Time bucket of the analyses over time (a pandas frequency).
    top_n
        Rows kept per table (the most important first).
    title
        The report's title.
    generated_at
        The time printed as the report's date (default: now); fix it for
        reproducible files.
    progress
        ``True`` draws a progress bar on a terminal or notebook; a callback
        ``(done, total, label)`` gets the steps.
    engine
        ``"pandas"``, ``"duckdb"`` or ``"auto"``
        (:func:`~rtt_topology.aggregate.engines.choose_engine`: DuckDB for a store or a
        history, and for a table of more than
        :data:`~rtt_topology.aggregate.engines.AUTO_ROWS` beacons).

    Returns
    -------
    Report
        The report; write it with :meth:`Report.write`.

    Raises
    ------
    InputError
        If no input is given, ``top_n`` is not positive, ``start`` or ``end`` is
        not an aware moment, the window is empty, or no beacon file could be read.
    LoadError, SourceNotFoundError
        If an input file cannot be read or found.

    Examples
    --------
    >>> import pandas as pd
    >>> from rtt_topology.load import beacons_from_records
    >>> load = beacons_from_records(
    ...     {"site": "api", "session": "s1", "event": "heartbeat", "ts": f"2026-01-19T15:0{m}:00Z"}
    ...     for m in range(10)
    ... )
    >>> report = build_report(load, generated_at=pd.Timestamp("2026-01-20", tz="UTC"))
    >>> [s.id for s in report.sections]  # doctest: +NORMALIZE_WHITESPACE
    ['summary', 'incidents', 'topology', 'declared-vs-observed', 'rules', 'triads',
     'over-time', 'readiness', 'inputs']
    >>> dict(report.section("summary").blocks[0].items)["services up"]
    1
    >>> html = report.to_html()
    >>> html.startswith("<!DOCTYPE html>"), "<script" in html
    (True, False)
    """
    from rtt_topology.aggregate.engines import choose_engine, engine_input
    from rtt_topology.graph.build import build_graph
    from rtt_topology.report.analyses import analyse
    from rtt_topology.report.inputs import (
        as_beacons,
        as_corridors,
        as_profiles,
        as_rules,
        as_spans,
    )
    from rtt_topology.report.sections import sections

    if beacons is None and profiles is None and traces is None:
        raise InputError("a report needs at least one of beacons, profiles or traces")
    if top_n < 1:
        raise InputError(f"top_n must be at least 1, got {top_n!r}")
    start, end = aware_utc(start, "start"), aware_utc(end, "end")
    if start is not None and end is not None and start >= end:
        raise InputError(f"empty window: start {start} is not before end {end}")
    steps = 4 + 11 + 9  # loads and graph, analyses (at most), sections
    done = 0
    # reuse(): the analyses share the periods, restarts and liveness segments they derive.
    choose_engine(None, engine)  # an unknown engine fails before any load
    with (
        progress_reporter(progress, steps, "report", unit="steps") as advance,
        reuse(),
        ExitStack() as stack,
    ):

        def step(label: str) -> None:
            nonlocal done
            done += 1
            advance(1, label)

        step("beacons")
        beacon_table, beacon_report = as_beacons(beacons, False, start, end, stack)
        if beacon_table is not None:
            beacon_table = stack.enter_context(engine_input(beacon_table, engine))
        step("profiles")
        profile_map, profile_report = as_profiles(profiles)
        step("traces")
        spans, trace_report = as_spans(traces, start, end, False)
        step("graph")
        G = build_graph(beacon_table, profile_map, spans=spans, start=start, end=end)
        rule_set = as_rules(rules)
        corridor_set = as_corridors(corridors)
        loads = {
            name: report
            for name, report in (
                ("beacons", beacon_report),
                ("profiles", profile_report),
                ("traces", trace_report),
            )
            if report is not None
        }
        analysis = analyse(
            G, beacons=beacon_table, profiles=profile_map, spans=spans, rule_set=rule_set,
            corridor_set=corridor_set, loads=loads, bucket=bucket, step=step,
        )  # fmt: skip
        laid_out = sections(analysis, top_n=top_n, step=step)
        advance(max(steps - done, 0), "done")
    return Report(
        title=title,
        sections=laid_out,
        start=analysis.start,
        end=analysis.end,
        generated_at=generated_at or datetime.now(UTC),
        analysis=analysis,
    )
