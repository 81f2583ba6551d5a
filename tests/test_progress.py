from __future__ import annotations

from rtt_topology._progress import progress_reporter


def test_quiet_and_callback() -> None:
    with progress_reporter(False, 10, "x") as advance:
        advance(5, "a")
    seen: list[tuple[int, int, str]] = []
    with progress_reporter(lambda *a: seen.append(a), 10, "x") as advance:
        advance(3, "a")
        advance(7, "b")
    assert seen == [(3, 10, "a"), (10, 10, "b")]


def test_bar_is_silent_when_not_a_terminal(capsys) -> None:
    with progress_reporter(True, 10, "reading") as advance:
        advance(10, "a.jsonl")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""
