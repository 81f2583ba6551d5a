"""Tests for rtt_topology.load.logs: [RTT] log entries in JSON, Python and Node notation."""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology.errors import InputError
from rtt_topology.load import logs
from rtt_topology.load.logs import LogEntry, LogParse, parse_log_lines, parse_payload

BEACON = {
    "site": "storefront-bff",
    "session": "srv-1768836600123",
    "event": "heartbeat",
    "ts": "2026-01-19T15:00:00.123Z",
    "structure": {
        "url": "internal://storefront",
        "title": "Storefront BFF",
        "nav_count": 0,
        "main_count": 0,
        "form_count": 0,
        "button_count": 0,
        "dom_nodes": 0,
    },
}

NODE_BEACON = """\
2026-01-19T15:00:00.123Z [RTT] heartbeat sent {
  site: 'storefront-bff',
  session: 'srv-1768836600123',
  event: 'heartbeat',
  ts: '2026-01-19T15:00:00.123Z',
  structure: {
    url: 'internal://storefront',
    title: 'Storefront BFF',
    nav_count: 0,
    main_count: 0,
    form_count: 0,
    button_count: 0,
    dom_nodes: 0
  }
}"""


def check_counts(result: LogParse) -> LogParse:
    """Every line is counted exactly once, and entries are in order without overlap."""
    covered = sum(e.end_line - e.line + 1 for e in result.entries)
    assert result.skipped_lines + covered == result.lines
    ends = [(e.line, e.end_line) for e in result.entries]
    for (_, end), (start, _) in itertools.pairwise(ends):
        assert end < start
    for e in result.entries:
        assert e.end_line >= e.line
        assert e.raw.count("\n") == e.end_line - e.line
        assert (e.payload is None) == (e.error is not None) == (e.notation is None)
    return result


def parse(text: str, **kwargs: Any) -> LogParse:
    return check_counts(parse_log_lines(text.split("\n"), **kwargs))


def test_exported_names() -> None:
    assert sorted(logs.__all__) == [
        "LogEntry",
        "LogParse",
        "MAX_ENTRY_LINES",
        "parse_log_lines",
        "parse_payload",
    ]


# --------------------------------------------------------------------- payloads

PAYLOADS = [
    # JSON
    (
        '{"site": "auth", "n": 0, "f": 1.5, "ok": true, "x": null}',
        "json",
        {"site": "auth", "n": 0, "f": 1.5, "ok": True, "x": None},
    ),
    (
        '{"site": "caf\\u00e9", "e": "😀", "q": "it\'s \\"x\\""}',
        "json",
        {"site": "café", "e": "😀", "q": 'it\'s "x"'},
    ),
    (
        '{"a": "}{", "b": "][", "c": [1, [2, {}]]}',
        "json",
        {"a": "}{", "b": "][", "c": [1, [2, {}]]},
    ),
    ("{}", "json", {}),
    ('{\n  "a": 1\n}', "json", {"a": 1}),
    # Python repr
    (
        "{'site': 'email-worker', 'structure': {'url': 'internal://email', 'nav_count': 0}, "
        "'x': None, 'ok': True}",
        "python",
        {
            "site": "email-worker",
            "structure": {"url": "internal://email", "nav_count": 0},
            "x": None,
            "ok": True,
        },
    ),
    (
        """{'q': "it's", 'both': 'it\\'s "x"', 'c': 'café', 'nl': 'a\\nb', 'n': -1, 'f': -0.5}""",
        "python",
        {"q": "it's", "both": 'it\'s "x"', "c": "café", "nl": "a\nb", "n": -1, "f": -0.5},
    ),
    (
        "{'None': 'True', 'x': [True, False, None], 'e': 1e+16}",
        "python",
        {"None": "True", "x": [True, False, None], "e": 1e16},
    ),
    ('{"a": True}', "python", {"a": True}),
    ("{'u': '\\u2028\\x00\\U0001f600'}", "python", {"u": "\u2028\x00\U0001f600"}),
    # Node.js util.inspect
    ("{ site: 'a', session: 's' }", "node", {"site": "a", "session": "s"}),
    (
        "{ 'content-type': 'x', '$k': 1, '': 2, true: 3 }",
        "node",
        {"content-type": "x", "$k": 1, "": 2, "true": 3},
    ),
    (
        "{ a: \"it's\", b: `it's \"q\"`, c: 'both \\' \" and `' }",
        "node",
        {"a": "it's", "b": 'it\'s "q"', "c": "both ' \" and `"},
    ),
    (
        "{ a: '\\n\\t\\x01\\x7F\\\\', b: '\\ud83d\\ude00', c: 'é 😀 }' }",
        "node",
        {"a": "\n\t\x01\x7f\\", "b": "😀", "c": "é 😀 }"},
    ),
    (
        "{ ts: 2026-01-19T15:00:00.123Z, far: +275760-09-13T00:00:00.000Z, bad: Invalid Date }",
        "node",
        {"ts": "2026-01-19T15:00:00.123Z", "far": "+275760-09-13T00:00:00.000Z", "bad": None},
    ),
    (
        "{ a: undefined, b: [ undefined, <2 empty items>, 3 ], c: null }",
        "node",
        {"b": [None, None, None, 3], "c": None},
    ),
    (
        "{ z: -0, big: 1e+21, small: 1.5e-7, n: NaN, i: Infinity, j: -Infinity, k: 12 }",
        "node",
        {"z": 0, "big": 1e21, "small": 1.5e-7, "n": None, "i": None, "j": None, "k": 12},
    ),
    ("{ a: true, b: false, c: [], d: {} }", "node", {"a": True, "b": False, "c": [], "d": {}}),
    ("Beacon { site: 'a', session: 'b' }", "node", {"site": "a", "session": "b"}),
    ("[Object: null prototype] { site: 'n' }", "node", {"site": "n"}),
    ("{ s: 'aaaa' +\n    'bbbb' }", "node", {"s": "aaaabbbb"}),
    ("{\n  f: [\n     1,  2,  3,\n    10, 11\n  ]\n}", "node", {"f": [1, 2, 3, 10, 11]}),
]


@pytest.mark.parametrize(("text", "notation", "expected"), PAYLOADS)
def test_parse_payload(text: str, notation: str, expected: dict[str, Any]) -> None:
    payload, found = parse_payload(text)
    assert found == notation
    assert payload == expected
    # Integers stay integers, exactly as written.
    assert _types(payload) == _types(expected)


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


PAYLOAD_ERRORS = [
    ("", "empty payload"),
    ("   ", "empty payload"),
    ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ('{"a": {"b": 1, "b": 2}}', "duplicate key 'b'"),
    ('{"a": NaN}', "invalid JSON: NaN is not a JSON number"),
    ('{"a": -Infinity}', "invalid JSON: -Infinity is not a JSON number"),
    ('{"a": 1e400}', "invalid JSON: number out of range"),
    ('{"a": 1,, }', "invalid JSON: "),
    ("[1, 2]", "payload is not an object (array)"),
    ("[ 'a', 'b' ]", "payload is not an object (array)"),
    ("42", "payload is not an object (number)"),
    ('"hi"', "payload is not an object (string)"),
    ("'hi'", "payload is not an object (string)"),
    ("null", "payload is not an object (null)"),
    ("successfully", "payload does not start with '{'"),
    ("{'a': 1, 'a': 2}", "duplicate key 'a'"),
    ("{'a': (1, 2)}", "a tuple is not a JSON value"),
    ("{'a': {1, 2}}", "a set is not a JSON value"),
    ("{'a': b'x'}", "bytes is not a JSON value"),
    ("{'a': 1j}", "complex is not a JSON value"),
    ("{'a': 1+2j}", "an expression is not a JSON value"),
    ("{1: 'a'}", "dict key is not a string (int)"),
    ("{'a': {...}}", "recursive reference {...}"),
    ("{'a': [...]}", "recursive reference (...)"),
    ("{'ts': datetime.datetime(2026, 1, 19)}", "datetime.datetime(...) is not a JSON value"),
    ("{'a': nan}", "nan is not a JSON value"),
    ("{'a': 1e999}", "non-finite number is not a JSON value"),
    ("{'a': 1", "invalid Python literal: "),
    ("{ g: { h: { i: [Object] } } }", "truncated by util.inspect depth limit ([Object])"),
    ("{ k: [ [ [Array] ] ] }", "truncated by util.inspect depth limit ([Array])"),
    ("{ a: Foo { b: [Foo] } }", "truncated by util.inspect depth limit ([Foo])"),
    ("<ref *1> { a: 1, self: [Circular *1] }", "circular reference ([Circular])"),
    ("{ arr: [\n    1, 2,\n    ... 98 more items\n  ] }", "truncated by util.inspect (... more)"),
    ("{ s: 'aaa'... 9000 more characters }", "truncated by util.inspect (... more)"),
    ("{ b: 10n }", "BigInt is not a JSON value"),
    ("{ f: [Function: foo] }", "function is not a JSON value"),
    ("{ c: [class Foo] }", "function is not a JSON value"),
    ("{ g: [Getter] }", "accessor property ([Getter]) has no value in the log"),
    ("{ s: [String: 'x'] }", "unsupported Node.js value in brackets"),
    ("{ a: 1, a: 2 }", "duplicate key 'a'"),
    ("{ s: Symbol(x) }", "invalid Node.js object: unsupported value at line 1 column 6"),
    ("{ m: Map(1) { 'a' => 1 } }", "invalid Node.js object: unsupported value"),
    ("{ a: 1,\n  b }", "invalid Node.js object: expected ':' at line 2 column 5"),
    ("{ a: 1 } trailing", "invalid Node.js object: unexpected text after the payload"),
]


@pytest.mark.parametrize(("text", "reason"), PAYLOAD_ERRORS)
def test_parse_payload_errors(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_payload(text)
    assert isinstance(info.value, InputError)
    assert str(info.value).startswith(reason)


def test_python_is_never_evaluated() -> None:
    with pytest.raises(ValueError, match="is not a JSON value"):
        parse_payload("{'a': __import__('os').system('false')}")


@pytest.mark.parametrize("text", ["{'a': '\\d'}", "{'a': 'x\x00'}", "{" * 5000 + "}" * 5000])
def test_odd_input_parses_or_fails_cleanly(text: str) -> None:
    # No warning (they are errors here), no crash: a dict of JSON types or a ValueError.
    try:
        payload, _ = parse_payload(text)
    except ValueError:
        return
    json.dumps(payload, allow_nan=False)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    deep = "{ a: " * 300 + "1" + " }" * 300
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_payload(deep)
    deep_json = '{"a": ' * 100_000 + "1" + "}" * 100_000
    with pytest.raises(ValueError):
        parse_payload(deep_json)


# -------------------------------------------------------------------------- logs

E = tuple[int, int, str, str | None, str | None]  # line, end_line, event, notation, error

LOG_CASES: list[tuple[str, str, list[E], int]] = [
    (
        "json line",
        '2026-01-19T15:00:00Z INFO [RTT] heartbeat sent {"site": "auth", "session": "srv-1"}',
        [(1, 1, "heartbeat", "json", None)],
        0,
    ),
    (
        "python logging prefix",
        "2026-01-19 15:00:00,123 INFO worker [RTT] heartbeat sent {'site': 'email-worker', "
        "'structure': {'url': 'internal://email', 'nav_count': 0}, 'x': None, 'ok': True}",
        [(1, 1, "heartbeat", "python", None)],
        0,
    ),
    ("node multi-line", NODE_BEACON, [(1, 15, "heartbeat", "node", None)], 0),
    (
        "node one line",
        "[RTT] startup sent { site: 'a', session: 's' }",
        [(1, 1, "startup", "node", None)],
        0,
    ),
    (
        "marker with colon",
        '[RTT] cluster_heartbeat sent: {"site": "east"}',
        [(1, 1, "cluster_heartbeat", "json", None)],
        0,
    ),
    (
        "no payload",
        "x\n[RTT] heartbeat sent\n[RTT] shutdown sent:  \ny",
        [
            (2, 2, "heartbeat", None, "no payload after the marker"),
            (3, 3, "shutdown", None, "no payload after the marker"),
        ],
        2,
    ),
    (
        "not sent",
        "[RTT] heartbeat failed: timeout\n[RTT] connecting\n[RTT] heartbeat sentinel {}",
        [],
        3,
    ),
    (
        "text after the payload",
        '[RTT] heartbeat sent {"site": "a"} (took 3 ms) {',
        [(1, 1, "heartbeat", "json", None)],
        0,
    ),
    (
        "payload not an object",
        "[RTT] heartbeat sent [1, 2]\n[RTT] heartbeat sent 'up'",
        [
            (1, 1, "heartbeat", None, "payload is not an object (array)"),
            (2, 2, "heartbeat", None, "payload is not an object (string)"),
        ],
        0,
    ),
    (
        "prose after the marker",
        "[RTT] heartbeat sent successfully",
        [(1, 1, "heartbeat", None, "payload does not start with '{'")],
        0,
    ),
    (
        "blank lines",
        "\n\n[RTT] deploy_start sent {}\n\n",
        [(3, 3, "deploy_start", "json", None)],
        4,
    ),
    (
        "multi-line json",
        "start\n[RTT] heartbeat sent " + json.dumps(BEACON, indent=2) + "\nend",
        [(2, 16, "heartbeat", "json", None)],
        2,
    ),
    (
        "braces and quotes in strings",
        "[RTT] heartbeat sent {\n  a: '} ] {',\n  b: \"it's {\",\n  c: `it's \"}\"`\n}",
        [(1, 5, "heartbeat", "node", None)],
        0,
    ),
    (
        "marker inside a string does not end the payload",
        "[RTT] heartbeat sent {\n  note: '[RTT] heartbeat sent {',\n  n: 1\n}",
        [(1, 4, "heartbeat", "node", None)],
        0,
    ),
    (
        "unterminated then valid",
        "[RTT] heartbeat sent {\n  site: 'a',\nnoise\n"
        '2026-01-19T15:00:00Z [RTT] heartbeat sent {"site": "b"}\nafter',
        [(1, 1, "heartbeat", None, "unterminated payload"), (4, 4, "heartbeat", "json", None)],
        3,
    ),
    (
        "unterminated then marker without timestamp",
        "[RTT] heartbeat sent {\n  site: 'a',\n[RTT] startup sent { site: 'b' }",
        [(1, 1, "heartbeat", None, "unterminated payload"), (3, 3, "startup", "node", None)],
        1,
    ),
    (
        "unterminated then a new record closes nothing",
        "[RTT] heartbeat sent {\n  site: 'a',\n2026-01-19 15:00:01,000 INFO done }\n}",
        [(1, 1, "heartbeat", None, "unterminated payload")],
        3,
    ),
    (
        "unterminated at end of input",
        "[RTT] heartbeat sent {\n  site: 'a',\n  ts: 1",
        [(1, 1, "heartbeat", None, "unterminated payload")],
        2,
    ),
    (
        "unterminated, then a multi-line entry",
        "[RTT] heartbeat sent {\n" + NODE_BEACON,
        [(1, 1, "heartbeat", None, "unterminated payload"), (2, 16, "heartbeat", "node", None)],
        0,
    ),
    (
        "node depth marker",
        "[RTT] heartbeat sent { g: { h: { i: [Object] } } }",
        [(1, 1, "heartbeat", None, "truncated by util.inspect depth limit ([Object])")],
        0,
    ),
    (
        "node circular",
        "[RTT] heartbeat sent <ref *1> {\n  a: 1,\n  self: [Circular *1]\n}",
        [(1, 4, "heartbeat", None, "circular reference ([Circular])")],
        0,
    ),
    (
        "node class instance over lines",
        "[RTT] heartbeat sent Beacon {\n  site: 'a',\n  ts: 2026-01-19T15:00:00.123Z\n}",
        [(1, 4, "heartbeat", "node", None)],
        0,
    ),
    (
        "multi-line entry with an invalid payload keeps its lines",
        "[RTT] heartbeat sent {\n  a: 1\n  b: 2\n}",
        [(1, 4, "heartbeat", None, "invalid Node.js object: expected '}' at line 3 column 3")],
        0,
    ),
    (
        "two markers on a line: the first wins",
        '[RTT] a sent {"x": 1} [RTT] b sent {"y": 2}',
        [(1, 1, "a", "json", None)],
        0,
    ),
]


@pytest.mark.parametrize(
    ("text", "expected", "skipped"),
    [case[1:] for case in LOG_CASES],
    ids=[case[0] for case in LOG_CASES],
)
def test_parse_log_lines(text: str, expected: list[E], skipped: int) -> None:
    result = parse(text)
    got = [(e.line, e.end_line, e.event, e.notation, e.error) for e in result.entries]
    assert got == expected
    assert result.skipped_lines == skipped
    assert result.lines == text.count("\n") + 1


def test_node_multi_line_payload_and_raw() -> None:
    (entry,) = parse(NODE_BEACON).entries
    assert entry.payload == BEACON
    assert entry.raw == NODE_BEACON
    assert not entry.event_from_marker


def test_unterminated_entry_keeps_only_its_marker_line() -> None:
    text = "[RTT] heartbeat sent {\n  site: 'a',\n[RTT] startup sent {}"
    first, second = parse(text).entries
    assert first.raw == "[RTT] heartbeat sent {"
    assert second.payload == {"event": "startup"}


def test_bound_on_entry_lines() -> None:
    body = [f"  k{i}: {i}," for i in range(10)]
    text = "\n".join(["[RTT] heartbeat sent {", *body, "  last: 0", "}", "[RTT] startup sent {}"])
    assert parse(text).entries[0].end_line == 13
    result = parse(text, max_entry_lines=5)
    assert [(e.line, e.end_line, e.error) for e in result.entries] == [
        (1, 1, "unterminated payload"),
        (14, 14, None),
    ]
    assert result.skipped_lines == 12
    with pytest.raises(ValueError, match="max_entry_lines"):
        parse_log_lines([], max_entry_lines=0)


def test_default_bound_is_200_lines() -> None:
    body = [f"  k{i}: {i}," for i in range(197)]
    fits = ["[RTT] heartbeat sent {", *body, "  last: 0", "}"]
    assert len(fits) == logs.MAX_ENTRY_LINES
    assert check_counts(parse_log_lines(fits)).entries[0].error is None
    too_long = ["[RTT] heartbeat sent {", "  k: 0,", *body, "  last: 0", "}"]
    result = check_counts(parse_log_lines(too_long))
    assert result.entries[0].error == "unterminated payload"
    assert result.skipped_lines == len(too_long) - 1


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_line_endings(ending: str) -> None:
    lines = [line + ending for line in NODE_BEACON.split("\n")] + ["tail" + ending]
    result = check_counts(parse_log_lines(lines))
    assert result.entries[0].payload == BEACON
    assert result.entries[0].raw == NODE_BEACON
    assert (result.lines, result.skipped_lines) == (16, 1)


def test_event_from_payload_wins_and_marker_fills_a_missing_event() -> None:
    text = (
        '[RTT] heartbeat sent {"site": "a", "event": "cluster_heartbeat"}\n'
        "[RTT] config_change sent { site: 'b', event: undefined }\n"
        "[RTT] shutdown sent {'site': 'c', 'event': None}"
    )
    first, second, third = parse(text).entries
    assert (first.event, first.payload, first.event_from_marker) == (
        "heartbeat",
        {"site": "a", "event": "cluster_heartbeat"},
        False,
    )
    assert (second.event, second.payload, second.event_from_marker) == (
        "config_change",
        {"site": "b", "event": "config_change"},
        True,
    )
    # An explicit null is the payload's own value: kept, for validation to judge.
    assert third.payload == {"site": "c", "event": None}
    assert not third.event_from_marker


def test_start_line_and_lazy_input() -> None:
    def lines() -> Any:
        yield "noise"
        yield from NODE_BEACON.split("\n")

    result = check_counts(parse_log_lines(lines(), start_line=101))
    assert [(e.line, e.end_line) for e in result.entries] == [(102, 116)]
    assert result.lines == 16


def test_entries_are_frozen() -> None:
    (entry,) = parse('[RTT] heartbeat sent {"site": "a"}').entries
    assert isinstance(entry, LogEntry)
    with pytest.raises(AttributeError):
        entry.line = 2  # type: ignore[misc]


def test_unicode_lines() -> None:
    text = "héllo ☕\n[RTT] heartbeat sent { site: 'café', 'ключ': '😀\\u2028' }"
    (entry,) = parse(text).entries
    assert entry.payload == {"site": "café", "ключ": "😀\u2028", "event": "heartbeat"}


# ---------------------------------------------------------------- round trips


def node_string(text: str) -> str:
    """Quote a string as util.inspect does."""
    quote = "'"
    if "'" in text:
        if '"' not in text:
            quote = '"'
        elif "`" not in text and "${" not in text:
            quote = "`"
    meta = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for char in text:
        code = ord(char)
        if char in (quote, "\\"):
            out.append("\\" + char)
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(meta.get(char, f"\\x{code:02X}"))
        else:
            out.append(char)
    return quote + "".join(out) + quote


def node_number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value).replace("e-0", "e-").replace("e+0", "e+")


def node_inspect(value: Any, indent: int = 0) -> str:
    """Render like util.inspect: short objects on one line, long ones over lines."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return node_number(value)
    if isinstance(value, str):
        return node_string(value)
    if isinstance(value, dict):
        items = [
            f"{k if re.fullmatch(r'[a-zA-Z_][a-zA-Z_0-9]*', k) else node_string(k)}: "
            f"{node_inspect(v, indent + 2)}"
            for k, v in value.items()
        ]
        left, right = "{", "}"
    else:
        items = [node_inspect(v, indent + 2) for v in value]
        left, right = "[", "]"
    if not items:
        return left + right
    single = f"{left} {', '.join(items)} {right}"
    if indent + len(single) <= 72 and "\n" not in single:
        return single
    pad = " " * (indent + 2)
    return f"{left}\n" + ",\n".join(pad + item for item in items) + f"\n{' ' * indent}{right}"


RENDERERS = {
    "json": lambda d: json.dumps(d),
    "json-indent": lambda d: json.dumps(d, indent=2, ensure_ascii=False),
    "python": repr,
    "node": node_inspect,
}
NOTATION = {"json": "json", "json-indent": "json", "python": "python", "node": "node"}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
beacons = st.dictionaries(st.text(max_size=10), values, max_size=6)


def test_renderer_matches_the_docs_example() -> None:
    assert node_inspect(BEACON) == NODE_BEACON.split(" sent ", 1)[1]


@pytest.mark.parametrize("style", sorted(RENDERERS))
@given(beacon=beacons)
@settings(max_examples=150, deadline=None)
def test_round_trip_payload(style: str, beacon: dict[str, Any]) -> None:
    text = RENDERERS[style](beacon)
    payload, notation = parse_payload(text)
    assert payload == beacon
    # Text that is also valid JSON ({}, or {"it's": 1} from repr) is reported as JSON.
    assert notation in (NOTATION[style], "json")


@pytest.mark.parametrize("style", sorted(RENDERERS))
@given(beacon=beacons)
@settings(max_examples=100, deadline=None)
def test_round_trip_log_lines(style: str, beacon: dict[str, Any]) -> None:
    text = "2026-01-19T15:00:00.123Z INFO [RTT] heartbeat sent " + RENDERERS[style](beacon)
    result = parse(text + "\nnext line")
    (entry,) = result.entries
    assert (entry.line, entry.end_line, entry.error) == (1, text.count("\n") + 1, None)
    assert entry.payload == {"event": "heartbeat", **beacon}
    assert entry.event_from_marker == ("event" not in beacon)


def _entry_lines(beacon: dict[str, Any], style: str) -> list[str]:
    return ("2026-01-19T15:00:00Z [RTT] heartbeat sent " + RENDERERS[style](beacon)).split("\n")


noise = st.one_of(
    st.text(st.characters(blacklist_characters="\n\r"), max_size=40),
    st.sampled_from(
        [
            "",
            "[RTT] heartbeat sent {",
            "[RTT] heartbeat sent",
            "[RTT] heartbeat failed: timeout",
            "[RTT] x sent { a: '",
            "  a: 'b',",
            "}",
            "]",
            "{",
            "'",
            '"',
            "}}}",
            "[RTT] x sent [",
            "2026-01-19 15:00:00,000 INFO {",
        ]
    ),
)
blocks = st.lists(
    st.one_of(
        noise.map(lambda line: ("noise", [line], None)),
        st.tuples(beacons, st.sampled_from(sorted(RENDERERS))).map(
            lambda pair: ("entry", _entry_lines(*pair), pair[0])
        ),
    ),
    max_size=12,
)


@given(blocks=blocks)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_noise_never_hides_entries(blocks: list[tuple[str, list[str], Any]]) -> None:
    lines: list[str] = []
    wanted = []
    for kind, block, beacon in blocks:
        if kind == "entry":
            wanted.append((len(lines) + 1, len(lines) + len(block), beacon))
        lines.extend(block)
    result = check_counts(parse_log_lines(lines, max_entry_lines=8))
    assert result.lines == len(lines)
    found = {(e.line, e.end_line): e for e in result.entries}
    for start, end, beacon in wanted:
        if end - start + 1 > 8:
            continue  # longer than the bound set for this test
        entry = found[(start, end)]
        assert entry.payload == {"event": "heartbeat", **beacon}


@given(lines=st.lists(st.text(max_size=60), max_size=30))
@settings(max_examples=300, deadline=None)
def test_any_text_keeps_the_line_count(lines: list[str]) -> None:
    check_counts(parse_log_lines(lines, max_entry_lines=5))


@given(
    text=st.lists(
        st.sampled_from([*"{}[]:,'\"`\\ \nabnx019.-+eE<>*", "undefined", "[Object]", "None"]),
        max_size=40,
    ).map("".join)
)
@settings(max_examples=500, deadline=None)
def test_parse_payload_only_raises_value_error(text: str) -> None:
    try:
        payload, _ = parse_payload(text)
    except InputError as exc:
        reason = str(exc)
    else:
        assert isinstance(payload, dict)
        json.dumps(payload, allow_nan=False)  # plain JSON types, finite numbers
        return
    assert reason
    assert "\n" not in reason


# ------------------------------------------------------------ real Node.js output

NODE_SCRIPT = r"""
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const chars = ["a", "Z", " ", "'", '"', "`", "\\", "{", "}", "[", "]", "\n", "\t", "\x01",
               "\x7f", "\u0085", "é", "😀", "\u2028", "$", "${", ":", ","];
const str = () => Array.from({ length: Math.floor(rand() * 8) }, () => pick(chars)).join("");
const key = () => pick(["site", "session", "ts", "content-type", "$x", "_y", "12", "", "é",
                        "a b", "nav_count", str()]);
class Beacon { constructor(site) { this.site = site; this.session = "s"; } }
function value(depth) {
  const r = rand();
  const size = Math.floor(rand() * 9);
  if (depth < 2 && r < 0.15) return Array.from({ length: size }, () => value(depth + 1));
  if (depth < 2 && r < 0.3) return object(depth + 1);
  return pick([null, undefined, true, false, 0, -0, 7, -3, 1.5, 1e21, 1.5e-7, NaN, Infinity,
               -Infinity, 123456789012, 0.1, new Date(1768836600123), new Date(NaN),
               str(), str(), str(), "it's", 'both \' " and `']);
}
function object(depth) {
  const o = {};
  for (let i = Math.floor(rand() * 7); i > 0; i--) o[key()] = value(depth);
  return o;
}
const samples = [new Beacon("cls"), Object.assign(Object.create(null), { site: "np" })];
for (let i = 0; i < 300; i++) samples.push(object(0));
for (const s of samples) {
  console.log("[RTT] heartbeat sent", s);
  console.log("JSON " + JSON.stringify(s));
}
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_real_node_console_log_matches_json_stringify() -> None:
    out = subprocess.run(
        ["node", "-e", NODE_SCRIPT], capture_output=True, text=True, encoding="utf-8", check=True
    ).stdout
    lines = out.split("\n")
    result = check_counts(parse_log_lines(lines))
    expected = [json.loads(line[5:]) for line in lines if line.startswith("JSON ")]
    assert len(result.entries) == len(expected) > 300
    multi_line = 0
    for entry, sent in zip(result.entries, expected, strict=True):
        assert entry.error is None, entry.raw
        sent.setdefault("event", "heartbeat")
        assert entry.payload == sent, entry.raw
        multi_line += entry.end_line > entry.line
    assert multi_line > 50


# --------------------------------------------------------------------- numbers


def test_numbers_keep_their_types() -> None:
    for text in ('{"n": 0, "f": 0.0}', "{'n': 0, 'f': 0.0}", "{ n: 0, f: 0.5 }"):
        payload, _ = parse_payload(text)
        assert type(payload["n"]) is int
        assert type(payload["f"]) is float
        assert math.isfinite(payload["f"])


# --------------------------------------------------------------------------- hostile lines


def test_a_line_over_the_limit_is_one_error_entry_if_it_has_a_marker() -> None:
    good = '2026-01-19T15:00:00Z [RTT] heartbeat sent {"site": "a"}'
    huge = "[RTT] heartbeat sent {'site': '" + "x" * 5_000 + "'}"
    noise = "y" * 5_000
    result = parse_log_lines([good, huge, noise, good], max_line_chars=1_000)
    assert [(e.line, e.error) for e in result.entries] == [
        (1, None),
        (2, "line longer than 1000 characters (5033): not read"),
        (4, None),
    ]
    assert len(result.entries[1].raw) <= 1_000
    assert result.skipped_lines == 1
    assert result.skipped_lines + sum(e.end_line - e.line + 1 for e in result.entries) == 4


def test_a_long_continuation_line_ends_the_payload() -> None:
    lines = ["[RTT] heartbeat sent {", "  site: 'a',", "  note: '" + "n" * 5_000 + "'", "}"]
    lines += ['[RTT] heartbeat sent {"site": "b"}']
    result = parse_log_lines(lines, max_line_chars=1_000)
    assert [(e.line, e.error) for e in result.entries] == [
        (1, "unterminated payload"),
        (5, None),
    ]
    assert result.skipped_lines == 3


@pytest.mark.parametrize(
    "payload",
    [
        '{"site": "a", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "{'site': 'a', 'x': " + "[" * 100_000 + "]" * 100_000 + "}",
        "{ site: 'a', x: " + "{ a: " * 50_000 + "1" + " }" * 50_000 + " }",
    ],
    ids=["json", "python", "node"],
)
def test_deep_payloads_are_errors_not_crashes(payload: str) -> None:
    result = parse_log_lines(
        ["[RTT] heartbeat sent " + payload, '[RTT] startup sent {"site": "b"}']
    )
    first, second = result.entries
    assert first.payload is None
    assert first.error
    assert second.payload == {"site": "b", "event": "startup"}


def test_the_lines_of_one_entry_are_bounded_together() -> None:
    body = [f"  k{i}: '{'v' * 50}'," for i in range(40)]
    lines = ["[RTT] heartbeat sent {", *body, "  site: 'a'", "}"]
    assert parse_log_lines(lines).entries[0].payload is not None
    result = parse_log_lines(lines, max_line_chars=1_000)
    assert result.entries[0].error == "unterminated payload"
    assert result.skipped_lines == len(lines) - 1
