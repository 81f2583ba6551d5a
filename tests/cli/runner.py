"""Run the command line in-process, as the CLI tests do."""

from __future__ import annotations

import pytest

from rtt_topology.cli import main

__all__ = ["run"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``rtt-topology`` with these arguments: the exit code, stdout and stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
