"""The ``rtt-topology`` command line: the root group, its sections, and :func:`main`.

Each command parses its options, calls one or two library functions, and prints
or writes the result. Library errors are caught once (:func:`main`), printed as
one line on stderr, and turned into exit code 1; usage errors exit with 2.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from rtt_topology._version import __version__
from rtt_topology.cli.analysis import drift_command, incidents_command, status
from rtt_topology.cli.common import EXIT_FAILURE, EXIT_OK
from rtt_topology.cli.demo import demo
from rtt_topology.cli.diagnostics import check, diagnose, payload
from rtt_topology.cli.export import grafana_dashboard, metrics_command
from rtt_topology.cli.graph import graph, reconcile_command
from rtt_topology.cli.load import summary
from rtt_topology.cli.remote import send
from rtt_topology.cli.report import report_command
from rtt_topology.cli.sections import SectionedGroup
from rtt_topology.cli.serve import serve_command
from rtt_topology.cli.store import ingest_command, store_group
from rtt_topology.errors import RttTopologyError

__all__ = ["cli", "main"]

# The help lists the commands in pipeline order, one section per command group.
_SECTIONS: tuple[tuple[str, tuple[click.Command, ...]], ...] = (
    ("Getting started", (demo,)),
    ("Load", (summary,)),
    ("Store", (ingest_command, store_group)),
    ("Graph", (graph, reconcile_command)),
    ("Analysis", (status, drift_command, incidents_command)),
    ("Diagnostics", (payload, check, diagnose)),
    ("Report", (report_command,)),
    ("Remote", (send, serve_command)),
    ("Export", (metrics_command, grafana_dashboard)),
)


@click.group(
    cls=SectionedGroup,
    sections=_SECTIONS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "-V", "--version", prog_name="rtt-topology")
def cli() -> None:
    """Analyse RTT-Inside heartbeats, profiles and traces offline."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code instead of raising.

    Parameters
    ----------
    argv
        The arguments (without the program name); ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        0 on success, 1 on a library error (printed as one line), 2 on bad usage.
    """
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="rtt-topology",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_FAILURE
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except RttTopologyError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_FAILURE
    except BrokenPipeError:
        return EXIT_OK
    return result if isinstance(result, int) else EXIT_OK
