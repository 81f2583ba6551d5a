"""Parse small JSON and YAML documents within bounds: strict JSON, plain YAML, no bombs.

Profiles, rules, corridors and baselines are small documents written by people and by
other tools. Whatever one holds, reading it costs time and memory in proportion to its
text:

- YAML is read with the safe loader only (tags that build objects are refused);
- nesting deeper than :data:`MAX_DEPTH` levels is refused, in JSON and in YAML: it is
  not configuration, and it would exhaust Python's stack further on;
- a YAML alias may repeat what its anchor names, but once every alias is expanded the
  document may hold at most :data:`MAX_INFLATION` times the values it is written with
  (documents under :data:`FREE_VALUES` values are never refused for it). A few hundred
  bytes of nested aliases (a "billion laughs") would otherwise expand to billions of
  values in whatever walks the document next. The error names the line of the alias
  that repeats the most values.

The YAML checks run on PyYAML's event stream, which its parser produces without
recursion, before anything is composed or constructed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from rtt_topology.errors import LoadError

__all__ = [
    "FREE_VALUES",
    "MAX_DEPTH",
    "MAX_INFLATION",
    "check_yaml",
    "nesting_depth",
    "parse_json",
    "yaml_problem",
]

#: Deepest nesting of mappings and lists accepted in a document.
MAX_DEPTH = 64
#: Largest ratio of values once aliases are expanded to values written.
MAX_INFLATION = 10
#: Documents that expand to at most this many values are accepted whatever the ratio.
FREE_VALUES = 10_000

_OPENS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSES = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """Return the reason of a PyYAML error, with its line and column when known."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return f"invalid YAML: {exc}"
    mark = exc.problem_mark or exc.context_mark
    where = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
    hint = ""
    if isinstance(exc, yaml.constructor.ConstructorError):
        hint = " (only plain YAML is read: unsafe and unknown tags are refused)"
    return f"invalid YAML{where}: {exc.problem}{hint}"


def check_yaml(text: str, source: str | Path) -> None:
    r"""Refuse YAML nested too deep, or that expands beyond its bounds through aliases.

    Parameters
    ----------
    text
        The YAML text (one or more documents).
    source
        The file or label named in errors.

    Raises
    ------
    LoadError
        If a document nests deeper than :data:`MAX_DEPTH`, expands to more than
        :data:`MAX_INFLATION` times the values written (beyond :data:`FREE_VALUES`),
        or is not valid YAML.

    Examples
    --------
    >>> check_yaml("a: &x [1, 2]\nb: *x\n", "ok.yaml")
    >>> laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    ...     f"{k}: &{k} [{', '.join([f'*{p}'] * 10)}]\n" for p, k in zip("abcde", "bcdef")
    ... )
    >>> check_yaml(laughs, "laughs.yaml")
    Traceback (most recent call last):
    ...
    rtt_topology.errors.LoadError: laughs.yaml: YAML aliases expand the document to 1234573 ...
    """
    # Values of each open collection, expanded; values of each anchor once closed.
    open_sizes: list[int] = []
    open_anchors: list[str | None] = []
    anchors: dict[str, int] = {}
    written = expanded = 0
    # The alias that repeats the most values, and its line: named in the error.
    biggest, biggest_line = 0, 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            size = 0
            if isinstance(event, _OPENS):
                written += 1
                open_sizes.append(1)
                open_anchors.append(event.anchor)
                if len(open_sizes) > MAX_DEPTH:
                    mark = event.start_mark
                    where = "" if mark is None else f" at line {mark.line + 1}"
                    raise LoadError(source, f"nesting deeper than {MAX_DEPTH} levels{where}")
                continue
            if isinstance(event, _CLOSES):
                size = open_sizes.pop()
                anchor = open_anchors.pop()
                if anchor is not None:
                    anchors[anchor] = size
            elif isinstance(event, yaml.ScalarEvent):
                written += 1
                size = 1
                if event.anchor is not None:
                    anchors[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                written += 1
                # An alias to an anchor still open (a recursive document) counts once.
                size = anchors.get(event.anchor or "", 1)
                if size > biggest:
                    biggest = size
                    biggest_line = 0 if event.start_mark is None else event.start_mark.line + 1
            else:
                continue
            if open_sizes:
                open_sizes[-1] += size
            else:
                expanded += size
    except yaml.YAMLError as exc:
        raise LoadError(source, yaml_problem(exc)) from exc
    if expanded > FREE_VALUES and expanded > MAX_INFLATION * written:
        reason = (
            f"YAML aliases expand the document to {expanded} values from {written} written "
            f"(at most {MAX_INFLATION} times as many); the alias at line {biggest_line} "
            f"repeats {biggest} values"
        )
        raise LoadError(source, reason)


def nesting_depth(value: Any, *, limit: int = MAX_DEPTH) -> int:
    """Return how deep mappings and lists nest in ``value``, counting to ``limit + 1`` at most.

    Examples
    --------
    >>> nesting_depth({"a": [1, {"b": []}]})
    4
    >>> nesting_depth("text")
    0
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str, source: str | Path, *, strict: bool = True) -> Any:
    """Parse one JSON document, nested at most :data:`MAX_DEPTH` levels.

    Parameters
    ----------
    text
        The JSON text.
    source
        The file or label named in errors.
    strict
        Refuse repeated keys and ``NaN``/``Infinity``; without it, the last of repeated
        keys wins, as in :func:`json.loads`.

    Raises
    ------
    LoadError
        Naming the line and column of a syntax error, or the rule broken.

    Examples
    --------
    >>> parse_json('{"a": [1, 2]}', "ok.json")
    {'a': [1, 2]}
    >>> parse_json('{"a": 1, "a": 2}', "twice.json")
    Traceback (most recent call last):
    ...
    rtt_topology.errors.LoadError: twice.json: invalid JSON: duplicate key 'a'
    """
    hooks: dict[str, Any] = {}
    if strict:
        hooks = {"object_pairs_hook": _refuse_duplicates, "parse_constant": _no_constant}
    try:
        value = json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise LoadError(source, reason) from exc
    except RecursionError as exc:
        raise LoadError(source, f"nesting deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise LoadError(source, f"invalid JSON: {exc}") from exc
    if nesting_depth(value) > MAX_DEPTH:
        raise LoadError(source, f"nesting deeper than {MAX_DEPTH} levels")
    return value
