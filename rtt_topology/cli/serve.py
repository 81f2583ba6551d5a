"""Remote command: ``serve`` runs the RTT endpoint server over a data directory."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import click

__all__ = ["serve_command"]


@click.command("serve")
@click.option(
    "--data",
    "-d",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The data directory: beacon segments and profiles (created when missing).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the bearer token that every POST needs.",
)
@click.option(
    "--allow-origin",
    "allow_origins",
    multiple=True,
    help="An origin browsers may call from (CORS; repeatable).",
)
@click.option(
    "--placeholder",
    is_flag=True,
    help="Answer the diagnostics as upstream does today (not_available).",
)
@click.option(
    "--insecure-public",
    is_flag=True,
    help="Listen beyond loopback without a token (anyone may write).",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=2000.0,
    show_default=True,
    help="Requests/s per client address (0: no limit).",
)
@click.option(
    "--burst",
    type=click.IntRange(min=1),
    default=4000,
    show_default=True,
    help="Requests a client may make at once.",
)
@click.option(
    "--diagnostics-workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Diagnostics computed at once.",
)
@click.option(
    "--diagnostics-timeout",
    "diagnostics_timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds one diagnostics answer may take (503 past it).",
)
@click.option("--verbose", "-v", is_flag=True, help="Log each startup step and every warning.")
def serve_command(
    data: Path,
    host: str,
    port: int,
    token_file: Path | None,
    allow_origins: Sequence[str],
    placeholder: bool,
    insecure_public: bool,
    rate_limit: float,
    burst: int,
    diagnostics_workers: int,
    diagnostics_timeout_s: float,
    verbose: bool,
) -> None:
    """Collect beacons and profiles over HTTP, and answer the diagnostics.

    Serves the RTT endpoints under /api/rtt (beacon, profile/SITE, validate,
    corridor, topology; ours: beacons, status), /metrics, /healthz and
    /openapi.json. Accepted beacons are stored durably in DATA, where
    `rtt-topology report --beacons DATA` reads them. Loopback by default; any
    other --host needs --token-file (or --insecure-public). Stops gracefully on
    SIGTERM or Ctrl-C.
    """
    from rtt_topology.remote.server import Limits, serve

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    limits = Limits(
        rate_per_s=rate_limit or None,
        burst=burst,
        diagnostics_workers=diagnostics_workers,
        diagnostics_timeout_s=diagnostics_timeout_s,
    )
    click.echo(f"rtt-topology serve: http://{host}:{port}/api/rtt  (data: {data})", err=True)
    serve(
        data,
        host=host,
        port=port,
        token_file=token_file,
        allow_origins=allow_origins,
        placeholder=placeholder,
        insecure_public=insecure_public,
        limits=limits,
    )
