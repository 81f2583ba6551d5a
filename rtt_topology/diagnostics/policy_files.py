"""Read the small policy documents (rules, corridors, baselines): safe YAML or strict JSON.

A policy document is one YAML or JSON mapping. YAML is read with the safe loader
only (tags such as ``!!python/object`` are refused) and JSON strictly (duplicate
keys, ``NaN`` and trailing data are errors); duplicate keys are refused in YAML too.
Besides the data, :class:`Document` keeps the line of every key and list item, so
that an error about ``rules[3].order`` can name its line.

Errors: a document that cannot be read as a mapping raises
:class:`~rtt_topology.errors.LoadError` (``rules.yaml: invalid YAML at line 4...``);
one bad item of a list raises :class:`~rtt_topology.errors.RecordError` naming the
item, its label and the field (``rules.yaml:14: rules[3] (no-upward): order: expected a
list of tier names``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rtt_topology.errors import LoadError, RecordError, SourceNotFoundError
from rtt_topology.load.documents import check_yaml, parse_json, yaml_problem
from rtt_topology.load.sources import SourceFile, read_text, split_suffix

__all__ = [
    "Document",
    "Location",
    "describe",
    "item_error",
    "looks_like_text",
    "parse_document",
    "read_document",
]

#: A place in a document: keys and list indexes from the top.
Location = tuple[str | int, ...]

_JSON_SUFFIXES = frozenset({"json"})
_YAML_SUFFIXES = frozenset({"yaml", "yml"})
_TYPE_ERRORS = frozenset(
    {
        "list_type",
        "string_type",
        "int_type",
        "int_parsing",
        "float_type",
        "float_parsing",
        "bool_type",
        "bool_parsing",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "int_from_float",
    }
)


@dataclass(frozen=True)
class Document:
    """A parsed policy document.

    Attributes
    ----------
    source
        The file it was read from, or a label for text (``<rules>``).
    data
        The parsed value (a mapping, once :func:`parse_document` accepted it).
    lines
        The 1-based line of each key and list item, by location (YAML, and JSON
        when its text also reads as YAML).
    """

    source: str
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)

    def line(self, location: Location) -> int | None:
        """Return the line of ``location``, or of its nearest enclosing place known."""
        for end in range(len(location), 0, -1):
            found = self.lines.get(location[:end])
            if found is not None:
                return found
        return None


def looks_like_text(source: str | os.PathLike[str]) -> bool:
    """Tell whether ``source`` is document text rather than a path.

    A ``str`` holding a line break, or starting with ``{`` once stripped, is text;
    anything else is a path.
    """
    if not isinstance(source, str):
        return False
    return "\n" in source or source.lstrip().startswith("{")


def read_document(source: str | os.PathLike[str], *, label: str) -> Document:
    """Read a policy document from a file, or parse it when ``source`` is text.

    Parameters
    ----------
    source
        A path (``.json``, ``.yaml``, ``.yml``, optionally ``.gz``; other suffixes are
        told apart by content) or the document's text (see :func:`looks_like_text`).
    label
        The name given to text in messages (``<rules>``).

    Raises
    ------
    SourceNotFoundError
        If the path is not a file.
    LoadError
        If the file cannot be read or parsed as one mapping.
    """
    if looks_like_text(source):
        return parse_document(str(source), source=label)
    path = Path(source)
    if not path.is_file():
        raise SourceNotFoundError(path)
    kind, gzip = split_suffix(path)
    text = read_text(SourceFile(path, kind, gzip))
    fmt = "json" if kind in _JSON_SUFFIXES else "yaml" if kind in _YAML_SUFFIXES else None
    return parse_document(text, source=str(path), fmt=fmt)


def parse_document(text: str, *, source: str, fmt: str | None = None) -> Document:
    """Parse the text of a policy document (``fmt``: ``json``, ``yaml`` or ``None`` to guess).

    Without ``fmt``, text whose first character is ``{`` is JSON when it parses
    as JSON, else YAML.

    Raises
    ------
    LoadError
        If the text is blank, invalid, holds several YAML documents, repeats a key,
        uses a YAML tag, or its top level is not a mapping.
    """
    if not text.strip():
        raise LoadError(source, "is blank: expected a mapping")
    if fmt is None:
        fmt = "yaml"
        if text.lstrip().startswith("{"):
            try:
                json.loads(text)
            except (ValueError, RecursionError):
                pass
            else:
                fmt = "json"
    if fmt == "json":
        data = parse_json(text, source, strict=True)
        # JSON is YAML too: its positions come from the YAML composer, when it takes them.
        node = _compose(text, source, strict=False)
        lines = {} if node is None else _lines(node, source, strict=False)
    else:
        node = _compose(text, source, strict=True)
        assert node is not None
        lines = _lines(node, source, strict=True)
        data = _construct(node, source)
    if not isinstance(data, dict):
        kind = "null" if data is None else type(data).__name__
        raise LoadError(source, f"top level is a {kind}, expected a mapping")
    return Document(source, data, lines)


def _construct(node: yaml.Node, source: str) -> Any:
    try:
        return yaml.SafeLoader("").construct_document(node)
    except yaml.YAMLError as exc:
        raise LoadError(source, yaml_problem(exc)) from exc


def _compose(text: str, source: str, *, strict: bool) -> yaml.Node | None:
    """Compose the one YAML document of ``text`` within bounds.

    With ``strict=False`` (JSON text, read for positions only) a problem gives ``None``.
    """
    try:
        check_yaml(text, source)
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except LoadError:
        if not strict:
            return None
        raise
    except yaml.YAMLError as exc:
        if not strict:
            return None
        raise LoadError(source, yaml_problem(exc)) from exc
    if len(nodes) != 1:
        if not strict:
            return None
        raise LoadError(source, f"holds {len(nodes)} YAML documents, expected one")
    return nodes[0]


def _lines(node: yaml.Node, source: str, *, strict: bool) -> dict[Location, int]:
    """Map every key and list item of the document to its line; refuse duplicate keys."""
    lines: dict[Location, int] = {}
    _walk(node, (), lines, source, strict=strict, seen=set())
    return lines


def _walk(
    node: yaml.Node,
    location: Location,
    lines: dict[Location, int],
    source: str,
    *,
    strict: bool,
    seen: set[int],
) -> None:
    # Aliases can make the tree a graph (or a loop): visit each node once.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            if key in keys and strict:
                line = key_node.start_mark.line + 1
                raise LoadError(source, f"invalid YAML at line {line}: duplicate key {key!r}")
            keys.add(key)
            lines[(*location, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*location, key), lines, source, strict=strict, seen=seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*location, index)] = item.start_mark.line + 1
            _walk(item, (*location, index), lines, source, strict=strict, seen=seen)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        type(value), f"a {type(value).__name__}"
    )


def describe(
    exc: ValidationError, nouns: Mapping[str, str], *, tag: str | None = None
) -> tuple[Location, str]:
    """Return the location and a readable reason of the first error of ``exc``.

    ``nouns`` maps a field name to what it should hold (``"a list of tier names"``),
    used for type errors: ``expected a list of tier names, got a string``. ``tag``
    is the discriminator value a tagged union puts first in error locations.
    """
    error = exc.errors(include_url=False)[0]
    location: Location = tuple(part for part in error["loc"] if isinstance(part, str | int))
    if tag is not None and location[:1] == (tag,):
        location = location[1:]
    kind = error["type"]
    name = next((p for p in reversed(location) if isinstance(p, str)), "")
    if kind == "missing":
        return location, "missing (required)"
    if kind == "extra_forbidden":
        return location, "unknown field"
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        return location, f"expected {expected}, got {error.get('input')!r}"
    if kind in _TYPE_ERRORS:
        noun = nouns.get(name)
        if noun is not None:
            return location, f"expected {noun}, got {_type_name(error.get('input'))}"
    message = str(error["msg"])
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    return location, message


def item_error(
    document: Document,
    location: Location,
    reason: str,
    *,
    item: tuple[str, int, str | None] | None = None,
) -> RecordError:
    """Build the error of one place of a document.

    Parameters
    ----------
    document
        The document.
    location
        Where, inside the item when ``item`` is given, else from the top.
    reason
        What is wrong.
    item
        ``(list name, index, label)`` of the list item the error is in; the label
        (a rule id, a corridor name) is shown in parentheses.

    Returns
    -------
    RecordError
        With ``path``, ``line`` and ``field`` set; its message reads
        ``FILE:LINE: LIST[i] (label): field: reason``.
    """
    inner = ".".join(str(p) for p in location)
    if item is None:
        where, full = inner, location
    else:
        name, index, label = item
        where = f"{name}[{index}]" + (f" ({label})" if label else "")
        if inner:
            where = f"{where}: {inner}"
        full = (name, index, *location)
    return RecordError(reason, path=document.source, line=document.line(full), field=where or None)
