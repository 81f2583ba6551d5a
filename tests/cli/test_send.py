"""The send command against a loopback RTT server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.runner import run
from tests.rtt_loopback import NOT_AVAILABLE, RttServer, closed_port

SEND_BEACON = {"site": "auth", "session": "s-1", "event": "heartbeat", "ts": "2026-01-19T15:00:00Z"}
SEND_PROFILE = {"rtt_version": "1.0", "supports": ["drift"]}


def _write_json(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_send_beacon_and_diagnostics(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, rtt_server: RttServer
) -> None:
    url = ["--base-url", rtt_server.base_url]
    beacon = _write_json(tmp_path, "b.json", SEND_BEACON)
    code, out, err = run(capsys, "send", "beacon", beacon, *url)
    assert (code, out.strip()) == (0, f"POST {rtt_server.base_url}/beacon: ok"), err
    body = _write_json(tmp_path, "t.json", {"graph": {"a": []}})
    code, out, _ = run(capsys, "send", "topology", body, *url, "--json")
    assert code == 0
    assert json.loads(out) == {"status": "not_available", "message": NOT_AVAILABLE}
    assert rtt_server.beacons == [SEND_BEACON]


def test_send_profile(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, rtt_server: RttServer
) -> None:
    url = ["--base-url", rtt_server.base_url]
    code, out, _ = run(capsys, "send", "profile", "--site", "a/b", *url)
    assert (code, out.strip()) == (0, "a/b: no profile registered")
    profile = _write_json(tmp_path, "p.json", SEND_PROFILE)
    assert run(capsys, "send", "profile", profile, "-s", "a/b", *url)[0] == 0
    code, out, _ = run(capsys, "send", "profile", "--site", "a/b", *url)
    assert (code, json.loads(out)) == (0, SEND_PROFILE)
    bad = _write_json(tmp_path, "bad.json", {"v": 1})
    code, _, err = run(capsys, "send", "profile", bad, "-s", "x", *url)
    assert code == 1
    assert err.strip() == f"error: POST {rtt_server.base_url}/profile/x: HTTP 400 invalid_profile"


def test_send_dry_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RTT_BASE_URL", "http://127.0.0.1:3000/api/rtt")
    beacon = _write_json(tmp_path, "b.json", SEND_BEACON)
    code, out, _ = run(capsys, "send", "beacon", beacon, "--dry-run")
    assert code == 0
    first, rest = out.split("\n", 1)
    assert first == "POST http://127.0.0.1:3000/api/rtt/beacon"
    assert json.loads(rest) == SEND_BEACON
    code, out, _ = run(capsys, "send", "profile", "-s", "a b", "--dry-run")
    assert out.strip() == "GET http://127.0.0.1:3000/api/rtt/profile/a%20b"


def test_send_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    beacon = _write_json(tmp_path, "b.json", SEND_BEACON)
    code, _, err = run(capsys, "send", "beacon", beacon, "--base-url", url, "--retries", "0")
    assert code == 1
    assert err.startswith(f"error: POST {url}/beacon: ")
    assert err.count("\n") == 1
    assert run(capsys, "send", "beacon")[0] == 2
    assert run(capsys, "send", "profile", beacon)[0] == 2
    assert run(capsys, "send", "beacon", beacon, "--site", "x")[0] == 2
    listing = _write_json(tmp_path, "l.json", [SEND_BEACON])
    code, _, err = run(capsys, "send", "beacon", listing, "--dry-run")
    assert code == 2
    assert "JSON object" in err
    broken = tmp_path / "x.json"
    broken.write_text("{", encoding="utf-8")
    code, _, err = run(capsys, "send", "beacon", str(broken), "--dry-run")
    assert code == 2
    assert "x.json" in err
    code, _, err = run(capsys, "send", "beacon", beacon, "--base-url", "ftp://x", "--dry-run")
    assert code == 2
    assert "base URL" in err
