"""Limits: the token bucket's rule, site names, auth and exposure checks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtt_topology.errors import InputError
from rtt_topology.remote.server.auth import bearer_ok, read_token
from rtt_topology.remote.server.limits import MAX_SITE_CHARS, Limits, RateLimiter, site_problem
from rtt_topology.remote.server.run import check_exposure, is_loopback


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_grants_burst_then_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(10.0, 5, clock=clock)
    assert [limiter.retry_after("a") for _ in range(6)] == [0, 0, 0, 0, 0, 1]
    # Another address has its own bucket.
    assert limiter.retry_after("b") == 0
    clock.now += 0.125  # 1.25 tokens back (10/s)
    assert limiter.retry_after("a") == 0
    assert limiter.retry_after("a") == 1


def test_retry_after_is_the_wait_for_one_token_rounded_up() -> None:
    clock = Clock()
    limiter = RateLimiter(0.25, 1, clock=clock)
    assert limiter.retry_after("a") == 0
    # 0 tokens, 0.25/s: 4 s until one is back.
    assert limiter.retry_after("a") == 4
    clock.now += 2.0
    assert limiter.retry_after("a") == 2


@given(
    rate=st.floats(0.5, 1000.0),
    burst=st.integers(1, 50),
    gaps=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=200),
)
def test_grants_never_exceed_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps: list[float]
) -> None:
    clock = Clock()
    limiter = RateLimiter(rate, burst, clock=clock)
    start = clock.now
    granted = 0
    for gap in gaps:
        clock.now += gap
        granted += limiter.retry_after("x") == 0
    assert granted <= burst + rate * (clock.now - start) + 1e-9


def test_idle_clients_are_forgotten_beyond_max_clients() -> None:
    clock = Clock()
    limiter = RateLimiter(100.0, 10, clock=clock, max_clients=100)
    for i in range(100):
        limiter.retry_after(f"10.0.0.{i}")
    clock.now += 1.0  # every bucket is full again
    limiter.retry_after("10.0.1.1")
    assert len(limiter) == 1
    for i in range(500):
        limiter.retry_after(f"10.1.0.{i}")
    assert len(limiter) <= 100


@pytest.mark.parametrize(
    ("site", "problem"),
    [
        ("auth-service", None),
        ("shop.example.com", None),
        ("ünïcödé", None),
        ("a/b", None),  # never used as a path: nothing to refuse
        ("", "empty site name"),
        ("x" * MAX_SITE_CHARS, None),
        ("x" * (MAX_SITE_CHARS + 1), "site name longer than 256 characters (257)"),
        ("a\x00b", "control character U+0000 in the site name"),
        ("a\x7fb", "control character U+007F in the site name"),
        ("a\x85b", "control character U+0085 in the site name"),
    ],
)
def test_site_names(site: str, problem: str | None) -> None:
    assert site_problem(site) == problem


@given(st.text(max_size=300))
def test_site_rule_as_stated(site: str) -> None:
    control = any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in site)
    ok = 1 <= len(site) <= MAX_SITE_CHARS and not control
    assert (site_problem(site) is None) == ok


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(InputError, match="beacon_bytes"):
        Limits(beacon_bytes=0)
    with pytest.raises(InputError, match="diagnostics_timeout_s"):
        Limits(diagnostics_timeout_s=math.inf)
    assert Limits(rate_per_s=None).rate_per_s is None


def test_bearer_tokens() -> None:
    assert bearer_ok("Bearer abc", b"abc")
    assert bearer_ok("BEARER   abc  ", b"abc")
    assert not bearer_ok("Basic abc", b"abc")
    assert not bearer_ok("Bearer abcd", b"abc")
    assert not bearer_ok("Bearer ábc", b"abc")


def test_token_file_rules(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_text("  a-long-enough-token-1234 \n")
    assert read_token(good) == "a-long-enough-token-1234"
    short = tmp_path / "short"
    short.write_text("abc")
    with pytest.raises(InputError, match="at least 16 characters"):
        read_token(short)
    spaced = tmp_path / "spaced"
    spaced.write_text("a long token with spaces")
    with pytest.raises(InputError, match="printable ASCII without spaces"):
        read_token(spaced)
    with pytest.raises(InputError, match="cannot read the token file"):
        read_token(tmp_path / "missing")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("10.0.0.1", False)],
)  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_exposure_needs_a_token_or_insecure_public(tmp_path: Path) -> None:
    check_exposure("127.0.0.1", token_file=None, insecure_public=False)
    check_exposure("0.0.0.0", token_file=tmp_path / "t", insecure_public=False)
    check_exposure("0.0.0.0", token_file=None, insecure_public=True)
    with pytest.raises(InputError, match=r"refusing to listen on 0\.0\.0\.0 without a token"):
        check_exposure("0.0.0.0", token_file=None, insecure_public=False)
