"""Remote command: ``send`` posts a JSON body to an RTT server and prints the answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rtt_topology.cli.common import BadInput
from rtt_topology.cli.output import echo_json
from rtt_topology.errors import RttTopologyError

__all__ = ["send"]

_SEND_METHODS = {"beacon", "validate", "corridor", "topology"}


@click.command()
@click.argument(
    "endpoint", type=click.Choice(["validate", "corridor", "topology", "beacon", "profile"])
)
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--site", "-s", help="The site, for profile (required there).")
@click.option("--base-url", help="Server base URL [default: $RTT_BASE_URL, else upstream's].")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to connect and for each read.",
)
@click.option("--retries", type=click.IntRange(min=0), default=3, show_default=True)
@click.option("--dry-run", is_flag=True, help="Print the method, URL and JSON body; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def send(
    endpoint: str,
    file: Path | None,
    site: str | None,
    base_url: str | None,
    timeout_s: float,
    retries: int,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Send a JSON body to an RTT server and print the answer.

    FILE holds the body: a beacon, a profile (with --site; without FILE, the site's
    profile is fetched), or a /validate, /corridor or /topology body (see the
    payload command). Exit 0 on ok and not_available, 1 on an error answer or no
    answer, 2 on bad usage or input.
    """
    from rtt_topology.errors import InputError
    from rtt_topology.load.records import loads_strict
    from rtt_topology.remote.client import ProfileAnswer, RTTClient, prepare_request

    if (endpoint == "profile") != (site is not None):
        raise click.UsageError("--site is required for profile, and only for profile")
    if file is None and endpoint != "profile":
        raise click.UsageError(f"{endpoint} needs a FILE with the JSON body")
    method = endpoint if endpoint in _SEND_METHODS else "get_profile"
    body = None
    if file is not None:
        method = "set_profile" if endpoint == "profile" else endpoint
        try:
            body = loads_strict(file.read_bytes())
        except RttTopologyError as exc:
            raise BadInput(f"{file}: {exc}") from exc
    try:
        prepared = prepare_request(method, body, site=site, base_url=base_url)  # type: ignore[arg-type]
    except InputError as exc:
        raise BadInput(str(exc)) from exc
    if dry_run:
        click.echo(prepared.describe())
        return
    with RTTClient(base_url, timeout_s=timeout_s, retries=retries) as client:
        if method == "get_profile":
            answer: Any = client.get_profile(site or "")
        elif method == "set_profile":
            answer = client.set_profile(site or "", body)
        else:
            answer = getattr(client, method)(body)
    if as_json:
        echo_json(answer.model_dump(mode="json", exclude_none=True))
    elif isinstance(answer, ProfileAnswer):
        if answer.profile is None:
            click.echo(f"{answer.site}: no profile registered")
        else:
            echo_json(answer.profile.to_dict())
    elif answer.status in ("ok", "not_available"):
        message = getattr(answer, "message", None)
        click.echo(f"{prepared.method} {prepared.url}: {answer.status}"
                   + (f" ({message})" if message else ""))  # fmt: skip
    else:
        echo_json(answer.model_dump(mode="json", exclude_none=True))
