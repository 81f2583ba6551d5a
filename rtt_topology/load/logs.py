"""Parse service log lines that carry ``[RTT] <event> sent`` beacon entries.

Services log their beacons with the upstream convention ``[RTT] heartbeat sent``
followed by the payload (``console.log("[RTT] heartbeat sent", payload)``). This
module finds those entries in any log text and reads the payload in one of three
notations:

``json``
    Strict JSON (``json.dumps``, ``JSON.stringify``): no NaN or Infinity, no
    duplicate keys.
``python``
    A Python ``repr`` of a dict (``logging`` with ``%s``), never evaluated: read with
    :func:`ast.literal_eval` after an AST check that refuses values JSON cannot hold
    (tuples, sets, bytes, complex and non-finite numbers, non-string keys, calls such
    as ``datetime.datetime(...)``, recursive ``{...}``) and duplicate keys. The
    common simple repr (no backslash, no double quote) is rewritten to JSON and read
    by :mod:`json` instead, which gives the same values ten times faster.
``node``
    Node.js ``util.inspect`` output (what ``console.log`` prints), on one line or
    broken over several lines. The payload is read as what ``JSON.stringify`` would
    have sent for the same object: Date objects become their ISO string, a property
    whose value is ``undefined`` is left out (``undefined`` in an array becomes
    ``null``), ``NaN``, ``Infinity`` and ``Invalid Date`` become ``null``, a class
    instance (``Beacon { ... }``) or ``[Object: null prototype] { ... }`` is a plain
    object, sparse array holes (``<1 empty item>``) are ``null``, and the string
    concatenation of old Node versions (``'abc' +``) is joined. What util.inspect
    has cut or what JSON cannot carry makes the entry an error, never a silent
    ``null``: ``[Object]``/``[Array]`` beyond the depth limit, ``... 3 more items``,
    ``[Circular *1]``, functions, getters, BigInt (``10n``), Symbols, Maps and Sets.

How entries are delimited
-------------------------
An entry starts at a line containing ``[RTT] <event> sent`` (optionally followed by
``:``); lines with ``[RTT]`` that do not say ``<event> sent`` (``[RTT] heartbeat
failed: timeout``) and all other lines are skipped. The payload runs from after the
marker until its brackets balance, ignoring brackets inside quoted strings (strings
never span lines in any of the three notations); text after the closing bracket is
ignored. A payload is collected over at most ``max_entry_lines`` lines. If it is
still open at that bound, at the end of the input, or when a line that starts a new
log record arrives (an ISO date-time at the start of the line, or another
``[RTT] <event> sent`` marker outside strings), the entry is an error
``"unterminated payload"`` covering only its marker line, and the lines after the
marker are scanned again, so an unterminated payload never hides the entries that
follow it.

Every input line is counted exactly once::

    skipped_lines + sum(e.end_line - e.line + 1 for e in entries) == lines

The notation is found by trying the parsers, strict JSON first; text valid in two
notations (``{}``, a repr like ``{"it's": 1}``) is reported as the first that reads
it. A payload that none reads gets the error of the notation it most looks like.
Limits: the continuation lines of a multi-line payload must be as the program
printed them; logs that prefix every line (``docker logs -t``, ``kubectl logs
--timestamps``) must have that prefix removed first.
"""

from __future__ import annotations

import ast
import json
import math
import re
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from rtt_topology.errors import InputError
from rtt_topology.load.records import json_type

__all__ = ["MAX_ENTRY_LINES", "LogEntry", "LogParse", "parse_log_lines", "parse_payload"]

#: Default bound on the lines of one entry (marker line included).
MAX_ENTRY_LINES: Final = 200

# The marker; the payload starts where the match ends (spaces and a colon consumed).
_MARKER = re.compile(r"\[RTT\]\s+(?P<event>[\w.\-]+)\s+sent(?![\w\-])\s*:?\s*")
# A continuation line that starts a new log record ends a payload that is still open.
_RECORD_START = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
# What may precede the opening bracket of a Node.js payload.
_NODE_PREFIX = re.compile(
    r"(?:<ref \*\d+>\s*)?(?:\[Object: null prototype\]\s*|[A-Za-z_$][\w$]*\s*(?=\{))?"
)
# Brackets and quoted strings; an unclosed string runs to the end of the line.
_SCAN = re.compile(
    r"""[{}\[\]]|'[^'\\]*(?:\\.[^'\\]*)*'?|"[^"\\]*(?:\\.[^"\\]*)*"?|`[^`\\]*(?:\\.[^`\\]*)*`?"""
)
# Closed quoted strings, removed before looking for a marker in a continuation line.
_CLOSED_STRING = re.compile(
    r"""'[^'\\]*(?:\\.[^'\\]*)*'|"[^"\\]*(?:\\.[^"\\]*)*"|`[^`\\]*(?:\\.[^`\\]*)*`"""
)


@dataclass(frozen=True, slots=True)
class LogEntry:
    r"""One ``[RTT] <event> sent`` entry of a log.

    Attributes
    ----------
    line
        1-based line number of the marker line.
    end_line
        Last line of the entry (``== line`` for one-line entries and for errors
        that swallowed no line).
    event
        The event named in the marker.
    payload
        The beacon as a plain dict (JSON types only), with ``"event"`` set to the
        marker's event when the payload has none; ``None`` on error.
    notation
        ``"json"``, ``"python"`` or ``"node"`` for a parsed payload, else ``None``.
    error
        Why the payload could not be read (short, without payload text), or ``None``.
    raw
        The entry's lines (marker line first) joined with ``"\n"``.
    event_from_marker
        Whether ``payload["event"]`` was filled in from the marker.
    """

    line: int
    end_line: int
    event: str
    payload: dict[str, Any] | None
    notation: str | None
    error: str | None
    raw: str
    event_from_marker: bool = False


@dataclass(frozen=True, slots=True)
class LogParse:
    """The entries found in a run of log lines.

    Attributes
    ----------
    entries
        The entries in line order, parsed or with an error.
    skipped_lines
        Lines that are not part of any entry (blank lines included).
    lines
        All lines seen.
    """

    entries: list[LogEntry]
    skipped_lines: int
    lines: int


# --------------------------------------------------------------------------- lines


def _scan(text: str, pos: int, depth: int) -> tuple[int, int]:
    """Track bracket depth over ``text[pos:]``; return (depth, end) with end >= 0 at balance."""
    for m in _SCAN.finditer(text, pos):
        c = m.group()
        if c == "{" or c == "[":
            depth += 1
        elif c == "}" or c == "]":
            depth -= 1
            if depth == 0:
                return 0, m.end()
    return depth, -1


def _starts_record(line: str) -> bool:
    """Whether a continuation line begins a new log record instead."""
    if line[:1].isdigit() and _RECORD_START.match(line):
        return True
    return "[RTT]" in line and _MARKER.search(_CLOSED_STRING.sub("", line)) is not None


def _payload_start(text: str, pos: int) -> int:
    """Where the payload's opening bracket should be, after a Node.js prefix."""
    m = _NODE_PREFIX.match(text, pos)
    return pos if m is None else m.end()


_Read = tuple[dict[str, Any] | None, str | None, str | None]
_NO_PAYLOAD: Final[_Read] = (None, None, "no payload after the marker")
_UNTERMINATED: Final[_Read] = (None, None, "unterminated payload")


def _read(text: str) -> _Read:
    """Parse a payload into (payload, notation, error)."""
    try:
        payload, notation = parse_payload(text)
    except ValueError as exc:
        return None, None, str(exc)
    return payload, notation, None


def _entry(line: int, end_line: int, event: str, raw: str, read: _Read) -> LogEntry:
    payload, notation, error = read
    if payload is None:
        return LogEntry(line, end_line, event, None, None, error, raw)
    filled = "event" not in payload
    if filled:
        payload["event"] = event
    return LogEntry(line, end_line, event, payload, notation, None, raw, filled)


def parse_log_lines(
    lines: Iterable[str], *, start_line: int = 1, max_entry_lines: int = MAX_ENTRY_LINES
) -> LogParse:
    r"""Find and parse the ``[RTT] <event> sent`` entries in log lines.

    Parameters
    ----------
    lines
        The log, one line per item; a trailing ``"\n"`` or ``"\r\n"`` is removed.
        Read once, lazily (only the lines of an open payload are held).
    start_line
        The number of the first line.
    max_entry_lines
        The most lines one entry may span, marker line included.

    Returns
    -------
    LogParse
        The entries (parsed, or with an error and no payload) and the line counts;
        ``skipped_lines + sum(e.end_line - e.line + 1 for e in entries) == lines``.

    Examples
    --------
    >>> log = [
    ...     "2026-01-19T15:00:00Z INFO boot",
    ...     '2026-01-19T15:00:01Z INFO [RTT] heartbeat sent {"site": "auth", "session": "s1"}',
    ...     "2026-01-19T15:00:02Z [RTT] heartbeat sent {",
    ...     "  site: 'api',",
    ...     "  ts: 2026-01-19T15:00:02.123Z",
    ...     "}",
    ...     "[RTT] heartbeat failed: timeout",
    ...     "[RTT] shutdown sent",
    ... ]
    >>> result = parse_log_lines(log)
    >>> [(e.line, e.end_line, e.notation, e.error) for e in result.entries]
    [(2, 2, 'json', None), (3, 6, 'node', None), (8, 8, None, 'no payload after the marker')]
    >>> result.entries[1].payload
    {'site': 'api', 'ts': '2026-01-19T15:00:02.123Z', 'event': 'heartbeat'}
    >>> result.skipped_lines, result.lines
    (2, 8)
    """
    if max_entry_lines < 1:
        raise InputError(f"max_entry_lines must be at least 1, not {max_entry_lines}")
    source: Iterator[str] = iter(lines)
    # Lines taken for a payload that stayed open, to be scanned again.
    pending: deque[tuple[int, str]] = deque()
    entries: list[LogEntry] = []
    skipped = 0
    seen = 0

    def take() -> tuple[int, str] | None:
        nonlocal seen
        if pending:
            return pending.popleft()
        text = next(source, None)
        if text is None:
            return None
        seen += 1
        return start_line + seen - 1, text.rstrip("\r\n")

    while (item := take()) is not None:
        number, line = item
        # The cheap test first: most lines of a log are not beacons.
        if "[RTT]" not in line or (m := _MARKER.search(line)) is None:
            skipped += 1
            continue
        event, begin = m["event"], m.end()
        if begin == len(line):
            entries.append(_entry(number, number, event, line, _NO_PAYLOAD))
            continue
        start = _payload_start(line, begin)
        if line[start : start + 1] not in ("{", "["):
            entries.append(_entry(number, number, event, line, _read(line[begin:])))
            continue
        # Most payloads end their line: try the whole rest before scanning brackets.
        first = _read(line[begin:]) if line.rstrip()[-1:] in ("}", "]") else None
        if first is not None and first[0] is not None:
            entries.append(_entry(number, number, event, line, first))
            continue
        depth, end = _scan(line, start, 0)
        if depth == 0:
            # One-line payload, up to its closing bracket (text after it is ignored).
            if first is None or line[end:].strip():
                first = _read(line[begin:end])
            entries.append(_entry(number, number, event, line, first))
            continue
        taken: list[tuple[int, str]] = []
        end = -1
        while len(taken) + 1 < max_entry_lines and (nxt := take()) is not None:
            taken.append(nxt)
            if _starts_record(nxt[1]):
                break
            depth, end = _scan(nxt[1], 0, depth)
            if end >= 0:
                break
        if end < 0:
            entries.append(_entry(number, number, event, line, _UNTERMINATED))
            # Scan the swallowed lines again: they may hold the next entries.
            pending.extendleft(reversed(taken))
            continue
        parts = [line[begin:], *(t for _, t in taken[:-1]), taken[-1][1][:end]]
        raw = "\n".join([line, *(t for _, t in taken)])
        entries.append(_entry(number, taken[-1][0], event, raw, _read("\n".join(parts))))
    return LogParse(entries, skipped, seen)


# ------------------------------------------------------------------------ payloads


class _MismatchError(ValueError):
    """The text is not in this notation (try another)."""


class _RejectError(ValueError):
    """The text is in this notation but its value cannot be a beacon."""


def _short(key: str) -> str:
    return repr(key if len(key) <= 40 else key[:37] + "...")


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    return f"line {line} column {column}"


# JSON ----------------------------------------------------------------------------


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RejectError(f"duplicate key {_short(key)}")
            seen.add(key)
    return obj


def _json_constant(name: str) -> Any:
    raise _RejectError(f"{name} is not valid JSON")


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _RejectError("number out of range is not a JSON value")
    return value


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_json_pairs, parse_constant=_json_constant, parse_float=_json_float
)


def _loads(text: str) -> Any:
    return _DECODER.decode(text)


def _parse_json(text: str) -> Any:
    try:
        return _loads(text)
    except _RejectError:
        raise
    except json.JSONDecodeError as exc:
        raise _MismatchError(f"invalid JSON: {exc.msg} at {_where(text, exc.pos)}") from None
    except RecursionError:
        raise _RejectError("payload nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with too many digits
        raise _RejectError(f"invalid JSON: {exc}") from None


# Python --------------------------------------------------------------------------

_PY_NOT_JSON: Final = {
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.BinOp: "an expression",
}


def _check_python(tree: ast.Expression) -> None:
    """Refuse what is not a JSON value; names mean the text is not Python."""
    rejected: str | None = None
    stack: list[ast.AST] = [tree.body]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Dict):
            keys: set[str] = set()
            for key, item in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    if key.value in keys:
                        rejected = rejected or f"duplicate key {_short(key.value)}"
                    keys.add(key.value)
                elif isinstance(key, ast.Name):
                    stack.append(key)
                elif key is None:
                    rejected = rejected or "dict unpacking is not a literal"
                else:
                    kind = type(key.value).__name__ if isinstance(key, ast.Constant) else "value"
                    rejected = rejected or f"dict key is not a string ({kind})"
                stack.append(item)
        elif isinstance(node, ast.List):
            stack.extend(reversed(node.elts))
        elif isinstance(node, ast.Constant):
            value = node.value
            if value is ...:
                rejected = rejected or "recursive reference (...)"
            elif isinstance(value, float) and not math.isfinite(value):
                rejected = rejected or "non-finite number is not a JSON value"
            elif not (value is None or isinstance(value, str | int | float)):
                rejected = rejected or f"{type(value).__name__} is not a JSON value"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = node.operand
            if not (
                isinstance(operand, ast.Constant)
                and isinstance(operand.value, int | float)
                and not isinstance(operand.value, bool)
            ):
                rejected = rejected or "an expression is not a JSON value"
            else:
                stack.append(operand)
        elif isinstance(node, ast.Name):
            if node.id in ("nan", "inf"):
                rejected = rejected or f"{node.id} is not a JSON value"
            else:
                raise _MismatchError(f"invalid Python literal: name {_short(node.id)}")
        elif isinstance(node, ast.Set) and all(
            isinstance(e, ast.Constant) and e.value is ... for e in node.elts
        ):
            rejected = rejected or "recursive reference {...}"
        elif isinstance(node, ast.Call):
            callee = ast.unparse(node.func)
            callee = callee if len(callee) <= 40 else "a call"
            rejected = rejected or f"{callee}(...) is not a JSON value"
        else:
            what = _PY_NOT_JSON.get(type(node), type(node).__name__)
            rejected = rejected or f"{what} is not a JSON value"
    if rejected:
        raise _RejectError(rejected)


def _python_as_json(text: str) -> str | None:
    """Rewrite a simple Python repr as JSON, or return None if it is not simple.

    Without backslashes and double quotes, every string of a repr is ``'...'`` with
    no quote inside, so swapping the quotes and the three keywords outside strings
    gives the same values as JSON; anything else (tuples, sets, ``nan``) then fails
    ``json.loads`` and takes the AST path, which names the problem.
    """
    if "\\" in text or '"' in text:
        return None
    parts = text.replace("'", '"').split('"')
    bare = "".join(parts[::2])
    if "true" in bare or "false" in bare or "null" in bare:
        return None
    if "True" in bare or "False" in bare or "None" in bare:
        for i in range(0, len(parts), 2):
            word = parts[i].replace("True", "true").replace("False", "false")
            parts[i] = word.replace("None", "null")
    return '"'.join(parts)


def _parse_python(text: str) -> Any:
    # A fast path for the common case: ast.parse costs ten times json.loads.
    simple = _python_as_json(text)
    if simple is not None:
        try:
            return _loads(simple)
        except (ValueError, RecursionError):
            pass
    try:
        if "\\" in text:
            # Python repr never writes an invalid escape: make one a syntax error.
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                tree = ast.parse(text, mode="eval")
        else:
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        where = f" (line {exc.lineno} column {exc.offset})" if exc.lineno else ""
        raise _MismatchError(f"invalid Python literal: {exc.msg}{where}") from None
    except (RecursionError, MemoryError):
        raise _RejectError("payload nested too deeply") from None
    except ValueError as exc:  # null bytes, too many digits
        raise _MismatchError(f"invalid Python literal: {exc}") from None
    _check_python(tree)
    try:
        return ast.literal_eval(tree)
    except (ValueError, TypeError, SyntaxError, RecursionError) as exc:  # pragma: no cover
        raise _RejectError(f"invalid Python literal: {exc}") from None


# Node.js util.inspect -----------------------------------------------------------

_NODE_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<date>[+-]?\d{4,6}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)
  | (?P<bigint>-?\d+n(?![\w$]))
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w$]))
  | (?P<str>'[^'\\\n]*(?:\\.[^'\\\n]*)*'
        |"[^"\\\n]*(?:\\.[^"\\\n]*)*"
        |`[^`\\\n]*(?:\\.[^`\\\n]*)*`)
  | (?P<tag>\[(?:[A-Z]|class\ )[^\[\]\n]*\])
  | (?P<ref><ref\ \*\d+>)
  | (?P<empty><(?P<holes>\d+)\ empty\ items?>)
  | (?P<more>\.\.\.\ \d+\ more\ \w+)
  | (?P<name>-?[A-Za-z_$][\w$]*)
  | (?P<punct>[{}\[\],:+])
  | (?P<other>.)
    """,
    re.VERBOSE,
)
_JS_ESCAPE = re.compile(r"\\(?:x([0-9A-Fa-f]{2})|u\{([0-9A-Fa-f]{1,6})\}|u([0-9A-Fa-f]{4})|(.))")
_JS_SIMPLE: Final = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_SURROGATE = re.compile("[\ud800-\udfff]")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
# Values JSON.stringify writes as null.
_NODE_NULLS: Final = frozenset({"null", "NaN", "Infinity", "-Infinity"})
_MAX_DEPTH: Final = 200


class _Undefined:
    """``undefined``: the property is left out, as JSON.stringify does."""


_UNDEFINED: Final = _Undefined()


def _js_escape(m: re.Match[str]) -> str:
    hexa, braced, u4, char = m.groups()
    code = hexa or braced or u4
    if code is not None:
        value = int(code, 16)
        if value > 0x10FFFF:
            raise _MismatchError("invalid Node.js string escape")
        return chr(value)
    return _JS_SIMPLE.get(char, char)


def _js_string(lexeme: str) -> str:
    body = lexeme[1:-1]
    if "\\" not in body:
        return body
    text = _JS_ESCAPE.sub(_js_escape, body)
    if _SURROGATE.search(text):
        # Join escaped surrogate pairs; lone surrogates stay as they are.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
    return text


class _NodeParser:
    """Recursive descent over util.inspect tokens."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [
            (m.lastgroup or "", m.group(), m.start())
            for m in _NODE_TOKEN.finditer(text)
            if m.lastgroup != "ws"
        ]
        self.i = 0

    def fail(self, what: str) -> _MismatchError:
        pos = self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.text)
        return _MismatchError(f"invalid Node.js object: {what} at {_where(self.text, pos)}")

    def peek(self) -> tuple[str, str]:
        if self.i < len(self.tokens):
            kind, lexeme, _ = self.tokens[self.i]
            return kind, lexeme
        return "end", ""

    def expect(self, lexeme: str) -> None:
        if self.peek()[1] != lexeme:
            raise self.fail(f"expected {lexeme!r}")
        self.i += 1

    def parse(self) -> Any:
        value = self.value(0)
        if self.i != len(self.tokens):
            raise self.fail("unexpected text after the payload")
        return None if value is _UNDEFINED else value

    def value(self, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise _RejectError("payload nested too deeply")
        kind, lexeme = self.peek()
        self.i += 1
        if lexeme == "{":
            return self.object(depth)
        if lexeme == "[" and kind == "punct":
            return self.array(depth)
        if kind == "str":
            text = _js_string(lexeme)
            # Old Node versions split long strings: 'abc' +\n 'def'.
            while self.peek()[1] == "+" and self.i + 1 < len(self.tokens):
                if self.tokens[self.i + 1][0] != "str":
                    break
                text += _js_string(self.tokens[self.i + 1][1])
                self.i += 2
            if self.peek()[0] == "more":
                raise _RejectError("truncated by util.inspect (... more)")
            return text
        if kind == "num":
            return float(lexeme) if any(c in lexeme for c in ".eE") else int(lexeme)
        if kind == "date":
            return lexeme
        if kind == "name":
            return self.name(lexeme, depth)
        if kind == "tag":
            return self.tag(lexeme, depth)
        if kind == "ref":
            return self.value(depth)
        if kind == "bigint":
            raise _RejectError("BigInt is not a JSON value")
        if kind == "more":
            raise _RejectError("truncated by util.inspect (... more)")
        self.i -= 1
        raise self.fail("expected a value")

    def name(self, lexeme: str, depth: int) -> Any:
        if lexeme in _NODE_NULLS:
            return None
        if lexeme == "undefined":
            return _UNDEFINED
        if lexeme in ("true", "false"):
            return lexeme == "true"
        if lexeme == "Invalid" and self.peek()[1] == "Date":
            self.i += 1
            return None
        if self.peek()[1] == "{" and not lexeme.startswith("-"):
            # A class instance: JSON.stringify writes its properties.
            self.i += 1
            return self.object(depth)
        self.i -= 1
        raise self.fail("unsupported value")

    def tag(self, lexeme: str, depth: int) -> Any:
        inner = lexeme[1:-1]
        if inner == "Object: null prototype" and self.peek()[1] == "{":
            self.i += 1
            return self.object(depth)
        if inner.startswith("Circular"):
            raise _RejectError("circular reference ([Circular])")
        if inner in ("Getter", "Setter", "Getter/Setter"):
            raise _RejectError(f"accessor property ([{inner}]) has no value in the log")
        if inner.startswith(("Function", "AsyncFunction", "GeneratorFunction", "class")):
            raise _RejectError("function is not a JSON value")
        if _IDENT.fullmatch(inner):
            label = inner if len(inner) <= 30 else "Object"
            raise _RejectError(f"truncated by util.inspect depth limit ([{label}])")
        raise _RejectError("unsupported Node.js value in brackets")

    def object(self, depth: int) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        keys: set[str] = set()
        if self.peek()[1] == "}":
            self.i += 1
            return obj
        while True:
            kind, lexeme = self.peek()
            if kind == "name" and not lexeme.startswith("-"):
                key = lexeme
            elif kind == "str":
                key = _js_string(lexeme)
            elif kind == "more":
                raise _RejectError("truncated by util.inspect (... more)")
            else:
                raise self.fail("expected a key")
            self.i += 1
            self.expect(":")
            if key in keys:
                raise _RejectError(f"duplicate key {_short(key)}")
            keys.add(key)
            value = self.value(depth + 1)
            if value is not _UNDEFINED:
                obj[key] = value
            if self.peek()[1] == ",":
                self.i += 1
                continue
            self.expect("}")
            return obj

    def array(self, depth: int) -> list[Any]:
        items: list[Any] = []
        if self.peek()[1] == "]":
            self.i += 1
            return items
        while True:
            kind, lexeme = self.peek()
            if kind == "empty":
                self.i += 1
                holes = _NODE_TOKEN.match(lexeme)
                items.extend([None] * int(holes["holes"] if holes else 1))
            else:
                value = self.value(depth + 1)
                items.append(None if value is _UNDEFINED else value)
            if self.peek()[1] == ",":
                self.i += 1
                continue
            self.expect("]")
            return items


def _parse_node(text: str) -> Any:
    return _NodeParser(text).parse()


# Dispatch ------------------------------------------------------------------------

_PARSERS: Final[dict[str, Callable[[str], Any]]] = {
    "json": _parse_json,
    "python": _parse_python,
    "node": _parse_node,
}


# JSON is tried first where it can match: it is the fastest and the strictest.
_ORDERS: Final = {
    "json": ("json", "python", "node"),
    "python": ("python", "node"),  # JSON never starts with {' or ['
    "node": ("json", "node", "python"),
}


def _guess(text: str) -> str:
    """Name the notation a payload most looks like; its error is the one reported."""
    head = text[:2]
    if head in ('{"', '["', "{}", "[]"):
        return "json"
    if head in ("{'", "['"):
        return "python"
    return "node"


def parse_payload(text: str) -> tuple[dict[str, Any], str]:
    """Parse one beacon payload written in JSON, Python repr or Node.js notation.

    Parameters
    ----------
    text
        The payload text (an object, possibly over several lines).

    Returns
    -------
    tuple of (dict, str)
        The payload as a plain dict of JSON types, and its notation: ``"json"``,
        ``"python"`` or ``"node"``.

    Raises
    ------
    InputError
        (a :class:`ValueError`) with a short reason when the text is not an object in
        any of the notations, or holds something a beacon cannot.

    Examples
    --------
    >>> parse_payload('{"site": "auth", "structure": {"nav_count": 0}}')
    ({'site': 'auth', 'structure': {'nav_count': 0}}, 'json')
    >>> parse_payload("{'site': 'mail', 'ok': True, 'x': None}")
    ({'site': 'mail', 'ok': True, 'x': None}, 'python')
    >>> parse_payload("{ site: 'api', ts: 2026-01-19T15:00:00.123Z, gone: undefined }")
    ({'site': 'api', 'ts': '2026-01-19T15:00:00.123Z'}, 'node')
    >>> parse_payload('{"a": 1, "a": 2}')
    Traceback (most recent call last):
    ...
    rtt_topology.errors.InputError: duplicate key 'a'
    """
    text = text.strip()
    if not text:
        raise InputError("empty payload")
    guess = _guess(text)
    if text[0] not in "{[<" and _payload_start(text, 0) == 0:
        # Not an object or array; name the value's type when it is one.
        for parse in (_parse_json, _parse_python):
            try:
                value = parse(text)
            except ValueError:
                continue
            raise InputError(f"payload is not an object ({json_type(value)})")
        raise InputError("payload does not start with '{'")
    order = _ORDERS[guess]
    reasons: dict[str, str] = {}
    for notation in order:
        try:
            value = _PARSERS[notation](text)
        except _MismatchError as exc:
            reasons[notation] = str(exc)
            continue
        except _RejectError as exc:
            raise InputError(str(exc)) from None
        if not isinstance(value, dict):
            raise InputError(f"payload is not an object ({json_type(value)})")
        return value, notation
    raise InputError(reasons[guess])
