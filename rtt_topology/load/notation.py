"""Parse one logged beacon payload: JSON, a Python dict repr, or Node.js ``util.inspect`` output.

Services print the payload after ``[RTT] <event> sent`` in whatever notation their
language gives (see :mod:`rtt_topology.load.logs` for finding the entries). Each
notation has its own reader here; all of them return plain JSON types and refuse
what a beacon cannot hold:

- JSON by the strict rules of :func:`rtt_topology.load.records.loads_strict`;
- a Python repr through ``ast`` only (literals, never evaluated code);
- Node's notation (single-quoted strings, bare keys, ``undefined``, Dates printed
  bare) by a small tokenizer, read as ``JSON.stringify`` would have sent it.
"""

from __future__ import annotations

import ast
import json
import math
import re
import warnings
from collections.abc import Callable
from typing import Any, Final

from rtt_topology.errors import InputError, RecordError
from rtt_topology.load.records import STRICT_JSON, json_type

__all__ = ["parse_payload", "payload_start"]

# What may precede the opening bracket of a Node.js payload.
_NODE_PREFIX = re.compile(
    r"(?:<ref \*\d+>\s*)?(?:\[Object: null prototype\]\s*|[A-Za-z_$][\w$]*\s*(?=\{))?"
)


def payload_start(text: str, pos: int) -> int:
    """Return where a payload's opening bracket should be, after a Node.js prefix."""
    m = _NODE_PREFIX.match(text, pos)
    return pos if m is None else m.end()


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


def _loads(text: str) -> Any:
    try:
        return STRICT_JSON.decode(text)
    except RecordError as exc:
        # Same rules as JSON Lines records; say which key is duplicated.
        raise _RejectError(
            f"{exc.reason} {_short(exc.field)}" if exc.field else exc.reason
        ) from None


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
    if text[0] not in "{[<" and payload_start(text, 0) == 0:
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
