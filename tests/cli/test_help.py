"""The top-level help lists the commands by group, in pipeline order; --help stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rtt_topology.cli import cli
from tests.cli.runner import run

GROUPS = {
    "Getting started": ["demo"],
    "Load": ["summary"],
    "Store": ["ingest", "store"],
    "Graph": ["graph", "reconcile"],
    "Analysis": ["status", "drift", "incidents"],
    "Diagnostics": ["payload", "check", "diagnose"],
    "Report": ["report"],
    "Remote": ["send", "serve"],
    "Export": ["metrics", "grafana-dashboard"],
}


def help_sections(text: str) -> dict[str, list[str]]:
    """Map each heading of the help (``Title:`` at column 0) to the first words under it."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line and not line[0].isspace() and line.endswith(":"):
            current = sections.setdefault(line[:-1], [])
        elif line.startswith("  ") and line.strip():
            current.append(line.split()[0])
    return sections


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_commands_by_group(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    code, out, _ = run(capsys, flag)
    assert code == 0
    sections = help_sections(out)
    # The groups come after the options, in pipeline order, each with its own commands.
    assert list(sections) == ["Options", *GROUPS]
    assert {title: sections[title] for title in GROUPS} == GROUPS
    listed = [name for title in GROUPS for name in sections[title]]
    assert sorted(listed) == sorted(cli.commands)
    assert len(listed) == len(set(listed))


def test_help_shows_each_short_help(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--help")
    shown = dict(line.split(None, 1) for line in out.splitlines() if line.startswith("  "))
    for name, command in cli.commands.items():
        # Click shortens the help to fit the width and ends it with "..." when it does.
        text = shown[name].removesuffix("...")
        assert len(text) > 20
        assert command.get_short_help_str(limit=1000).startswith(text)


def test_command_help_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "graph", "--help")
    assert code == 0
    assert out.startswith("Usage: rtt-topology graph [OPTIONS]")
    assert "--beacons" in out
    assert "Getting started" not in out


def test_module_help_matches_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rtt_topology", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert help_sections(result.stdout) == {"Options": ["-V,", "-h,"], **GROUPS}


def test_cli_import_and_help_are_light() -> None:
    heavy = ("pandas", "pyarrow", "matplotlib", "networkx")
    code = (
        "import sys, rtt_topology.cli\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
        "rtt_topology.cli.main(['--help'])\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "[]"
    assert lines[-1] == "[]"


def test_commands_outside_a_section_come_last() -> None:
    import click

    from rtt_topology.cli.sections import SectionedGroup

    group = SectionedGroup("tool", sections=[("Start", [click.Command("go", help="Go.")])])
    group.add_command(click.Command("zap", help="Zap."))
    group.add_command(click.Command("aside", help="Aside.", hidden=True))
    ctx = click.Context(group, info_name="tool")
    assert group.list_commands(ctx) == ["go", "aside", "zap"]
    assert help_sections(group.get_help(ctx)) == {
        "Options": ["--help"],
        "Start": ["go"],
        "Commands": ["zap"],
    }
