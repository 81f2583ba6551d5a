"""Render a report document as self-contained HTML, as Markdown, or as JSON data.

HTML goes through a Jinja2 template with autoescaping on for every value, and the
page carries a Content-Security-Policy that allows no script and no external
resource: figures are inline ``data:`` PNGs, styles are inline. Markdown escapes
the characters that would become markup or raw HTML. JSON keeps the data (rows
as records, timestamps in ISO 8601) and leaves the images out.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rtt_topology.report.model import (
    Facts,
    FigureBlock,
    Note,
    Section,
    TableBlock,
    cell_text,
)

__all__ = ["BADGES", "markdown_escape", "render_html", "render_json", "render_markdown"]

#: Values drawn as coloured labels in HTML tables; anything else is plain text.
BADGES: frozenset[str] = frozenset(
    {
        "up", "late", "flapping", "down", "stopped", "missing", "unknown",
        "pass", "fail", "kept", "broken", "aligned", "unused", "too_slow", "off_corridor",
        "critical", "warning", "info", "error", "ok",
    }
)  # fmt: skip
_LEVELS = frozenset({"info", "ok", "warning", "critical"})
#: Table cells kept on one line: texts this short (kinds, names, times, numbers)...
_SHORT_TEXT = 24
#: ...and single words up to this long (rule ids, long service names).
_LONG_WORD = 40


def _more(block: TableBlock) -> str:
    if not block.truncated:
        return ""
    return f"showing {len(block.rows)} of {block.total} rows."


def _unbroken(text: str) -> bool:
    """Whether a table cell's text is short enough to keep on one line in HTML."""
    return len(text) <= _SHORT_TEXT or (len(text) <= _LONG_WORD and len(text.split()) == 1)


def _html_blocks(section: Section) -> list[dict[str, Any]]:
    """Turn blocks into plain values for the template (text, not markup)."""
    blocks: list[dict[str, Any]] = []
    for block in section.blocks:
        if isinstance(block, Facts):
            blocks.append(
                {
                    "kind": "facts",
                    "title": block.title,
                    "entries": [(label, cell_text(value)) for label, value in block.items],
                }
            )
        elif isinstance(block, TableBlock):
            badge_at = {i for i, c in enumerate(block.columns) if c in block.badges}
            rows = []
            for row in block.rows:
                cells = []
                for i, value in enumerate(row):
                    text = cell_text(value)
                    badge = text if i in badge_at and text in BADGES else None
                    cells.append({"text": text, "badge": badge, "short": _unbroken(text)})
                rows.append(cells)
            blocks.append(
                {
                    "kind": "table",
                    "title": block.title,
                    "columns": list(block.columns),
                    "rows": rows,
                    "more": _more(block) + (f" {block.note}" if block.note else ""),
                }
            )
        elif isinstance(block, FigureBlock):
            blocks.append(
                {
                    "kind": "figure",
                    "title": block.title,
                    "caption": block.caption,
                    "data": base64.b64encode(block.png).decode("ascii"),
                }
            )
        elif isinstance(block, Note):
            level = block.level if block.level in _LEVELS else "info"
            blocks.append({"kind": "note", "level": level, "text": block.text})
    return blocks


def render_html(
    sections: Iterable[Section], *, title: str, subtitle: str, footer: str, version: str
) -> str:
    """Render the sections as one self-contained HTML page.

    Parameters
    ----------
    sections
        The report's sections.
    title, subtitle, footer, version
        Page texts (escaped like everything else).

    Returns
    -------
    str
        The page.

    Examples
    --------
    >>> page = render_html(
    ...     [Section("s", "Summary", [Note("<script>alert(1)</script>")])],
    ...     title="R & D", subtitle="", footer="", version="0",
    ... )
    >>> "&lt;script&gt;alert(1)&lt;/script&gt;" in page, "<script>" in page
    (True, False)
    >>> "<title>R &amp; D</title>" in page
    True
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rtt_topology.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    items = [{"id": _anchor(s.id), "title": s.title, "blocks": _html_blocks(s)} for s in sections]
    return template.render(
        title=title, subtitle=subtitle, footer=footer, version=version, sections=items
    )


def _anchor(value: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-") or "section"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|#!~])")


def markdown_escape(text: str) -> str:
    r"""Escape text so that Markdown shows it literally, in a paragraph or a table cell.

    Markup characters get a backslash; ``&``, ``<`` and ``>`` become entities, so
    no raw HTML passes; line breaks become spaces.

    Parameters
    ----------
    text
        Any text.

    Returns
    -------
    str
        The escaped text.

    Examples
    --------
    >>> markdown_escape("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> markdown_escape('a|b *c* [d](e) "q" & r')
    'a\\|b \\*c\\* \\[d\\](e) "q" &amp; r'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return re.sub(r"\s*[\r\n]+\s*", " ", text)


def _md_table(block: TableBlock) -> list[str]:
    lines = [f"**{markdown_escape(block.title)}**", ""]
    header = [markdown_escape(str(c)) for c in block.columns]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(" --- " for _ in header) + "|")
    if not block.rows:
        lines.append("| " + " | ".join(["none"] + [""] * (len(header) - 1)) + " |")
    for row in block.rows:
        lines.append("| " + " | ".join(markdown_escape(cell_text(v)) for v in row) + " |")
    more = _more(block) + (f" {block.note}" if block.note else "")
    if more.strip():
        lines += ["", f"*{markdown_escape(more.strip())}*"]
    return lines


def render_markdown(
    sections: Iterable[Section],
    *,
    title: str,
    subtitle: str,
    footer: str,
    figure_dir: str | os.PathLike[str] | None = None,
    figure_link: str | None = None,
) -> str:
    """Render the sections as Markdown.

    Parameters
    ----------
    sections
        The report's sections.
    title, subtitle, footer
        Page texts.
    figure_dir
        Where to write the figures as PNG files; ``None`` embeds them as
        ``data:`` URIs (self-contained, but not every viewer shows them).
    figure_link
        How the document refers to ``figure_dir`` (a relative path); default:
        its name.

    Returns
    -------
    str
        The document.

    Examples
    --------
    >>> text = render_markdown([Section("s", "Summary", [Facts([("services", 3)])])],
    ...                        title="Report", subtitle="window", footer="end")
    >>> print(text)
    # Report
    <BLANKLINE>
    window
    <BLANKLINE>
    - [Summary](#s)
    <BLANKLINE>
    ## Summary
    <BLANKLINE>
    - **services**: 3
    <BLANKLINE>
    ---
    end
    <BLANKLINE>
    """
    sections = list(sections)
    out = [f"# {markdown_escape(title)}", "", markdown_escape(subtitle), ""]
    out += [f"- [{markdown_escape(s.title)}](#{_anchor(s.id)})" for s in sections] + [""]
    directory = Path(figure_dir) if figure_dir is not None else None
    link = figure_link if figure_link is not None else (directory.name if directory else "")
    figures = 0
    for section in sections:
        out += [f"## {markdown_escape(section.title)}", ""]
        for block in section.blocks:
            if isinstance(block, Facts):
                if block.title:
                    out += [f"**{markdown_escape(block.title)}**", ""]
                out += [
                    f"- **{markdown_escape(label)}**: {markdown_escape(cell_text(value))}"
                    for label, value in block.items
                ]
            elif isinstance(block, TableBlock):
                out += _md_table(block)
            elif isinstance(block, FigureBlock):
                figures += 1
                if directory is not None:
                    directory.mkdir(parents=True, exist_ok=True)
                    name = f"figure-{figures:02d}.png"
                    (directory / name).write_bytes(block.png)
                    target = f"{link}/{name}" if link else name
                else:
                    target = "data:image/png;base64," + base64.b64encode(block.png).decode()
                caption = markdown_escape(block.caption)
                out += [
                    f"![{caption}]({target})",
                    "",
                    f"*{markdown_escape(block.title)}.* {caption}",
                ]
            elif isinstance(block, Note):
                prefix = "" if block.level == "info" else f"**{block.level}**: "
                out += [f"> {prefix}{markdown_escape(block.text)}"]
            out.append("")
    out += ["---", markdown_escape(footer), ""]
    return "\n".join(out)


def render_json(document: Mapping[str, Any], sections: Iterable[Section]) -> str:
    """Render the report's header fields and its sections as indented JSON.

    Examples
    --------
    >>> print(render_json({"title": "R"}, [Section("s", "Summary", [Note("ok", "ok")])]))
    {
      "title": "R",
      "sections": [
        {
          "id": "s",
          "title": "Summary",
          "blocks": [
            {
              "type": "note",
              "level": "ok",
              "text": "ok"
            }
          ]
        }
      ]
    }
    """
    data = dict(document)
    data["sections"] = [s.to_dict() for s in sections]
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
