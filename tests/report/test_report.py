from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rtt_topology.errors import InputError
from rtt_topology.load import BeaconLoad, ProfileLoad
from rtt_topology.report.build import Report, build_report
from tests import DEMO
from tests.cli.runner import run

WHEN = pd.Timestamp("2026-02-01T00:00:00Z")
SECTIONS = [
    "summary",
    "incidents",
    "topology",
    "declared-vs-observed",
    "rules",
    "triads",
    "over-time",
    "readiness",
    "inputs",
]


class Page(HTMLParser):
    """Collect what a browser would see: tags, attributes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def demo_report() -> Report:
    return build_report(
        DEMO / "beacons",
        DEMO / "profiles",
        DEMO / "traces" / "otlp.jsonl",
        rules=DEMO / "rules.yaml",
        corridors=DEMO / "corridors.yaml",
        generated_at=WHEN,
    )


@pytest.fixture(scope="module")
def demo_html(demo_report: Report) -> str:
    return demo_report.to_html()


def test_sections_in_order(demo_report: Report) -> None:
    assert [s.id for s in demo_report.sections] == SECTIONS
    summary = dict(demo_report.section("summary").blocks[0].items)  # type: ignore[union-attr]
    assert summary["window"].startswith("2026-01-19 00:00")
    assert demo_report.analysis is not None
    assert summary["services in the graph"] == demo_report.analysis.G.number_of_nodes() == 40
    assert summary["system coherence"].endswith("%")
    assert summary["rules broken"] == "2 of 12 (1 at severity error or above)"
    with pytest.raises(KeyError, match="no section 'nope'"):
        demo_report.section("nope")


def test_demo_report_names_each_injected_incident(
    demo_html: str, demo_truth: dict[str, Any], incident_kind: dict[str, str]
) -> None:
    truth = demo_truth
    page = parse(demo_html)
    text = " ".join(page.text)
    incidents = text[text.index("incidents, by start") :]
    for incident in truth["incidents"]:
        if incident["type"] == "malformed_burst":
            assert f"of {DEMO / 'beacons' / 'dc-west.jsonl.gz'}" in incidents
            continue
        kind = incident_kind[incident["type"]]
        assert kind in incidents, incident["id"]
        for site in incident["services"]:
            assert site in incidents, (incident["id"], site)
    assert "inventory-api stopped sending beacons" in incidents
    assert "auth-service restarted 8 times" in incidents
    assert "search-api beacons every" in incidents
    assert "webhook-worker (worker) -&gt; api-gateway" not in text  # text is unescaped here
    assert "webhook-worker (worker) -> api-gateway (edge)" in incidents


def test_demo_report_explains_the_collector_gap(
    demo_report: Report, demo_html: str, demo_incidents: dict[str, dict[str, Any]]
) -> None:
    gap = demo_incidents["collector_gap"]
    text = " ".join(parse(demo_html).text)
    summary = text[: text.index("incidents, by start")]
    assert "Collector gap:" in summary
    assert f"{len(gap['services'])} of {len(gap['services']) + 1} services" in summary
    assert "collector_gap" in text[text.index("incidents, by start") :]
    assert demo_report.analysis is not None
    lanes = demo_report.analysis.timeline
    assert lanes is not None
    unknown = set(lanes[lanes["state"] == "unknown"]["site"].astype(str))
    assert unknown == set(gap["services"])
    # The badge of the new state is styled.
    assert ".badge.unknown" in demo_html


def test_shared_derivations_change_no_result(demo_report: Report) -> None:
    from rtt_topology.analysis.cadence import cadence, cadence_changes
    from rtt_topology.analysis.liveness import states, timeline, uptime
    from rtt_topology.analysis.readiness import readiness

    a = demo_report.analysis
    assert a is not None
    assert a.beacons is not None
    beacons, profiles = a.beacons, a.profiles
    # Computed again here, outside the report's reuse() block: nothing is shared.
    pd.testing.assert_frame_equal(a.states, states(beacons, profiles))
    pd.testing.assert_frame_equal(a.timeline, timeline(beacons, profiles))
    pd.testing.assert_frame_equal(a.uptime, uptime(beacons, profiles))
    pd.testing.assert_frame_equal(a.cadence, cadence(beacons, profiles, bucket="5min"))
    pd.testing.assert_frame_equal(
        a.cadence_changes, cadence_changes(beacons, profiles, bucket="5min")
    )
    pd.testing.assert_frame_equal(a.readiness, readiness(beacons, profiles, a.G))


def test_html_is_self_contained(demo_html: str) -> None:
    page = parse(demo_html)
    assert "script" not in page.tags
    assert "link" not in page.tags
    sources = [v for tag, k, v in page.attrs if k == "src"]
    assert len(sources) >= 7
    assert all(v is not None and v.startswith("data:image/png;base64,") for v in sources)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", demo_html)
    assert "Content-Security-Policy" in demo_html
    hrefs = [v for tag, k, v in page.attrs if k == "href"]
    assert hrefs
    assert all(v is not None and v.startswith("#") for v in hrefs)
    ids = {v for tag, k, v in page.attrs if k == "id"}
    assert {h[1:] for h in hrefs if h} <= ids


def _css_rules(html: str) -> list[tuple[list[str], dict[str, str]]]:
    """The page's style rules as (selectors, declarations), @media blocks included."""
    css = re.sub(r"/\*.*?\*/", "", html[html.index("<style>") : html.index("</style>")], flags=re.S)
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {
            k.strip(): v.strip() for k, _, v in (d.partition(":") for d in body.split(";")) if v
        }
        rules.append(([s.strip() for s in selectors.split(",")], declarations))
    return rules


def test_badges_and_short_cells_never_break_inside_a_word(demo_html: str) -> None:
    page = parse(demo_html)
    classes = {(tag, c) for tag, k, v in page.attrs if k == "class" and v for c in v.split()}
    # The classes the renderer gives badges and short cells (kinds, names, times, numbers).
    assert ("span", "badge") in classes
    assert ("td", "short") in classes
    assert '<td class="short">rule_violation</td>' in demo_html
    assert '<td class="short"><span class="badge warning">warning</span></td>' in demo_html
    rules = _css_rules(demo_html)
    nowrap = {s for selectors, d in rules if d.get("white-space") == "nowrap" for s in selectors}
    assert {".badge", "td.short"} <= nowrap
    # Nothing lets a browser split a word anywhere inside a short cell or a badge ...
    for selectors, declarations in rules:
        if {".badge", "td.short", "td"} & set(selectors):
            assert declarations.get("word-break", "normal") == "normal", selectors
    # ... and a table too wide for the page scrolls inside its own box.
    wrap = next(d for selectors, d in rules if ".table-wrap" in selectors)
    assert wrap["overflow-x"] == "auto"
    assert demo_html.count('<div class="table-wrap">') == demo_html.count("<table>")


def test_figures_are_png(demo_report: Report) -> None:
    from rtt_topology.report.build import FigureBlock

    figures = [b for s in demo_report.sections for b in s.blocks if isinstance(b, FigureBlock)]
    titles = {f.title for f in figures}
    assert {
        "Liveness over time",
        "Service graph",
        "Triad census",
        "Structural drift",
        "Drift of every service",
        "Coherence over time",
        "Heartbeat frequency",
        "Cadence",
    } <= titles
    for figure in figures:
        assert figure.png.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(figure.png) > 5_000


def test_markdown_and_json_say_the_same(demo_report: Report, tmp_path: Path) -> None:
    md_path = demo_report.write(tmp_path / "report.md")
    md = md_path.read_text()
    figures = sorted((tmp_path / "report_files").glob("*.png"))
    assert len(figures) >= 8
    for figure in figures:
        assert f"(report_files/{figure.name})" in md
    json_path = demo_report.write(tmp_path / "out" / "report.json")
    data = json.loads(json_path.read_text())
    assert [s["id"] for s in data["sections"]] == SECTIONS
    assert data["generated_at"] == WHEN.isoformat()
    tables = [b for s in data["sections"] for b in s["blocks"] if b["type"] == "table"]
    for table in tables:
        assert table["shown"] == len(table["rows"]) <= table["total"]
        assert f"**{table['title']}**".replace("_", "\\_") in md or table["title"] in md
    incidents = next(t for t in tables if t["title"] == "incidents, by start")
    assert any(r["kind"] == "outage" and "inventory-api" in r["sites"] for r in incidents["rows"])
    # Timestamps are ISO 8601 in JSON.
    assert incidents["rows"][0]["start"].startswith("2026-01-19T")
    # The same section titles in every format.
    html = demo_report.to_html()
    for section in demo_report.sections:
        assert f"## {section.title}" in md
        assert f"<h2>{section.title}</h2>" in html


def test_write_chooses_the_format(demo_report: Report, tmp_path: Path) -> None:
    assert demo_report.write(tmp_path / "r.htm").read_text().startswith("<!DOCTYPE html>")
    target = demo_report.write(tmp_path / "r.txt", format="json")
    assert json.loads(target.read_text())["title"] == "RTT datacenter report"
    with pytest.raises(InputError, match=r"r\.pdf: cannot tell the report format"):
        demo_report.write(tmp_path / "r.pdf")
    assert not list(tmp_path.glob(".*.tmp"))


def _hostile_beacons(tmp_path: Path) -> Path:
    names = ["<script>alert(1)</script>", "quote\"s & <b>amp</b> 'single'", "a$b$c | *x* [y](z)"]
    lines = []
    for n, name in enumerate(names):
        for minute in range(40):
            if n == 0 and 15 <= minute < 30:
                continue  # an outage, so the name shows up in incidents too
            ts = pd.Timestamp("2026-01-19T10:00:00Z") + pd.Timedelta(seconds=30 * minute)
            lines.append(
                json.dumps(
                    {
                        "site": name,
                        "session": f"s{n}",
                        "event": "heartbeat",
                        "ts": ts.isoformat(),
                        "structure": {"url": f"https://x/{name}", "title": name, "nav_count": 1},
                    }
                )
            )
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n{not json <script>alert(2)</script>\n")
    return path


def test_names_from_data_render_as_text(tmp_path: Path) -> None:
    path = _hostile_beacons(tmp_path)
    report = build_report(path, generated_at=WHEN)
    html = report.to_html()
    page = parse(html)
    assert "script" not in page.tags
    assert "b" not in page.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "quote&#34;s &amp; &lt;b&gt;amp&lt;/b&gt; &#39;single&#39;" in html
    text = "".join(page.text)
    assert "<script>alert(1)</script>" in text
    assert "quote\"s & <b>amp</b> 'single'" in text
    assert "alert(2)" in text  # the quarantined line is shown, as text
    md = report.to_markdown()
    assert "<script" not in md
    assert "<b>" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "a$b$c \\| \\*x\\* \\[y\\](z)" in md
    data = json.loads(report.to_json())
    assert "<script>alert(1)</script>" in json.dumps(data, ensure_ascii=False)


def test_edge_cases_build(tmp_path: Path) -> None:
    one = tmp_path / "one.jsonl"
    one.write_text(
        "".join(
            json.dumps({"site": "solo", "session": "s", "event": "heartbeat",
                        "ts": f"2026-01-19T10:{m:02d}:00Z"}) + "\n"
            for m in range(30)
        )
    )  # fmt: skip
    for report in (
        build_report(one, generated_at=WHEN),  # one service, no traces, no profiles
        build_report(one, start="2027-01-01T00:00:00Z", generated_at=WHEN),  # empty window
        build_report(profiles=DEMO / "profiles", generated_at=WHEN),  # profiles only
        build_report(traces=DEMO / "traces" / "zipkin.json", generated_at=WHEN),
    ):
        assert [s.id for s in report.sections] == SECTIONS
        html = report.to_html()
        assert html.startswith("<!DOCTYPE html>")
        json.loads(report.to_json())
        report.to_markdown()
    empty = build_report(one, start="2027-01-01T00:00:00Z", generated_at=WHEN)
    assert "no beacons" in empty.to_html()


def test_loaded_inputs_are_accepted(demo_load: BeaconLoad, demo_profile_load: ProfileLoad) -> None:
    load, profiles = demo_load, demo_profile_load
    report = build_report(load, profiles, generated_at=WHEN, top_n=3)
    assert report.analysis is not None
    assert report.analysis.loads["beacons"] is load.report
    tables = [b for s in report.sections for b in s.blocks if hasattr(b, "rows")]
    assert all(len(t.rows) <= 3 or t.title.startswith(("incidents", "checks", "rules", "triad"))
               for t in tables)  # fmt: skip
    report2 = build_report(load.beacons, profiles.profiles, generated_at=WHEN)
    assert "inputs" in [s.id for s in report2.sections]


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="at least one of beacons, profiles or traces"):
        build_report()
    with pytest.raises(InputError, match="top_n"):
        build_report(DEMO / "beacons", top_n=0)


def test_progress_callback_reaches_the_total() -> None:
    seen: list[tuple[int, int, str]] = []
    build_report(
        profiles=DEMO / "profiles",
        generated_at=WHEN,
        progress=lambda done, total, label: seen.append((done, total, label)),
    )
    assert seen[-1][0] == seen[-1][1]
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
    assert {"graph", "triads", "summary"} <= {label for _, _, label in seen}


def test_cli_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, out, err = run(
        capsys, "report", "-b", str(DEMO / "beacons"), "-p", str(DEMO / "profiles"),
        "-t", str(DEMO / "traces" / "otlp.jsonl"), "-r", str(DEMO / "rules.yaml"),
        "-c", str(DEMO / "corridors.yaml"), "-o", str(target),
    )  # fmt: skip
    assert code == 0, err
    assert f"wrote {target} (html): 9 sections" in out
    assert "inventory-api" in target.read_text()
    code, out, err = run(capsys, "report", "-p", str(DEMO / "profiles"), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["sections"][0]["id"] == "summary"
    code, out, err = run(capsys, "report", "-p", str(DEMO / "profiles"), "--format", "md",
                         "-o", str(tmp_path / "r.md"))  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "r.md").read_text().startswith("# RTT datacenter report")


def test_cli_report_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "report")
    assert code == 2
    assert "give at least one of --beacons, --store, --profiles, --traces" in err
    code, _, err = run(capsys, "report", "-p", str(DEMO / "profiles"), "-o",
                       str(tmp_path / "r.pdf"))  # fmt: skip
    assert code == 2
    assert "cannot tell the format from 'r.pdf'" in err
    code, _, err = run(capsys, "report", "-b", str(tmp_path / "missing.jsonl"))
    assert code == 1
    assert "missing.jsonl" in err
