"""``rtt-topology serve``: safe defaults, one-line errors, a graceful stop that closes the store."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rtt_topology.load import read_beacons
from rtt_topology.remote.server import BeaconStore
from rtt_topology.sdk import build_beacon_payload
from tests.cli.runner import run
from tests.remote.server.serve_process import ServeProcess


def test_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "serve", "--help")
    assert code == 0
    for option in ("--data", "--host", "--port", "--token-file", "--allow-origin",
                   "--placeholder", "--insecure-public", "--rate-limit"):  # fmt: skip
        assert option in out


def test_public_address_without_token_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "serve", "--data", str(tmp_path), "--host", "0.0.0.0")
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert lines == [
        "error: refusing to listen on 0.0.0.0 without a token: give --token-file FILE "
        "(or --insecure-public to accept writes from anyone)"
    ]
    assert not (tmp_path / "beacons").exists()


def test_a_weak_token_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("short")
    code, _, err = run(capsys, "serve", "--data", str(tmp_path / "d"), "--token-file", str(token))
    assert code == 1
    assert "the token must have at least 16 characters" in err


def test_missing_data_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "serve")
    assert code == 2
    assert "--data" in err


@pytest.mark.slow
def test_serves_then_stops_on_sigterm_closing_the_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    beacon = build_beacon_payload("cli-svc", "s1", "heartbeat")
    with ServeProcess(data) as server:
        answer = httpx.post(f"{server.base_url}/beacon", json=beacon, timeout=20)
        assert answer.json() == {"status": "ok"}
        assert server.terminate() == 0
    assert "Traceback" not in server.log_text()
    # The lock was released: the directory opens again, and holds the beacon.
    with BeaconStore(data):
        pass
    beacons, _ = read_beacons(data)
    assert list(beacons["site"]) == ["cli-svc"]
