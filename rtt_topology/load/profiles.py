"""Read site profiles from JSON, YAML and JSON Lines files into validated models.

Accepted shapes, told apart by suffix and content:

1. one profile per file, ``<site>.json|.yaml|.yml``: the site is the file name
   without its suffixes (``shop.example.com.json`` is ``shop.example.com``);
2. one JSON or YAML file mapping ``{site: profile, ...}``; a top-level mapping is
   a single profile instead when it has ``rtt_version``, ``version`` or
   ``supports``, or when none of its values is a mapping or null;
3. JSON Lines (``.jsonl``, ``.ndjson``) of ``GET /profile/{site}`` answers,
   ``{"site": "...", "profile": {...} | null}`` one per line; a single answer
   saved as a ``.json`` or ``.yaml`` file is read the same way;
4. a site's ``rtt.json`` (the file websites serve at ``/rtt.json``): always one
   profile, of the site named by ``site=``, else of its parent directory.

Any of these may be gzip-compressed (``.gz``). YAML is read with the safe loader
only: tags such as ``!!python/object`` are refused.

Rules of the load (ours):

- Every profile is validated with :class:`~rtt_topology.schemas.Profile`; a bad
  one becomes one :class:`~rtt_topology.load.report.Reject` (the first error's
  field, dotted and relative to the profile; every error in ``reason``) and the
  load goes on. ``line`` is the JSON Lines line, or the line of the site's key in
  a mapping file; ``None`` for a one-profile file.
- A site defined twice (in one file or in two) keeps its first definition in load
  order, valid or not; each later one is rejected as ``duplicate profile for site
  X (first defined in FILE:LINE)``.
- A null profile (``"profile": null`` or ``site: null``) means the site has no
  profile: it is not a record, so it is counted in ``skipped_lines`` and yields
  nothing. Thus ``accepted == len(profiles)`` and ``accepted + rejected == read``.
- A file that cannot be read at all raises :class:`~rtt_topology.errors.LoadError`
  when the source is that one file; when the source is a directory, a glob or a
  list, it is recorded in ``report.failures`` and the other files still load.
  ``strict=True`` raises :class:`~rtt_topology.errors.StrictLoadError` at the end
  if any file failed or any profile was rejected.
- Files cost what they weigh: gzip inflation is bounded
  (:mod:`rtt_topology.load.sources`), JSON and YAML documents by nesting depth and
  alias expansion (:mod:`rtt_topology.load.documents`); a JSON Lines line longer
  than :data:`~rtt_topology.load.records.MAX_LINE_BYTES` characters, or nested
  deeper than :data:`~rtt_topology.load.documents.MAX_DEPTH` levels, is one reject.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import yaml
from pydantic import ValidationError

from rtt_topology.errors import FormatError, InputError, LoadError
from rtt_topology.load import records
from rtt_topology.load.documents import (
    MAX_DEPTH,
    check_yaml,
    nesting_depth,
    parse_json,
    yaml_problem,
)
from rtt_topology.load.records import long_line_reason
from rtt_topology.load.report import FileStats, LoadReport, Reject, truncate_raw
from rtt_topology.load.sources import (
    Source,
    SourceFile,
    expand_sources,
    iter_lines,
    read_each_file,
    read_text,
)
from rtt_topology.schemas import Profile

__all__ = ["PROFILE_COLUMNS", "ProfileLoad", "profiles_frame", "read_profiles"]

#: Suffix to the format reported in :class:`FileStats` (``+gzip`` is added).
_FORMATS: dict[str, str] = {
    "json": "json",
    "yaml": "yaml",
    "yml": "yaml",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
}
_MARKERS = frozenset({"rtt_version", "version", "supports"})
# YAML reads `rtt_version: 1.10` as the float 1.1: keep the text as written.
_VERBATIM_KEYS = frozenset({"rtt_version", "version", "layer", "tier"})
_YAML_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
_YAML_NULL_TAG = "tag:yaml.org,2002:null"

_STRING = pd.StringDtype("pyarrow")

#: Column name to dtype of :func:`profiles_frame`, in table order.
PROFILE_COLUMNS: dict[str, object] = {
    "site": _STRING,
    "rtt_version": _STRING,
    "supports": "object",
    "contact": _STRING,
    "depends_on": "object",
    "heartbeat_interval_s": "float64",
    "layer": _STRING,
    "owner": _STRING,
    "lifecycle": _STRING,
    "tags": "object",
    "extra": _STRING,
}


class ProfileLoad(NamedTuple):
    """What :func:`read_profiles` returns."""

    #: Accepted profiles keyed by site, sorted by site.
    profiles: dict[str, Profile]
    #: Counts per file, rejects, failures and ignored files.
    report: LoadReport


@dataclass(frozen=True, slots=True)
class _Entry:
    """One profile record found in a file, before validation."""

    site: str | None
    line: int | None
    data: Any
    raw: str
    problem: tuple[str | None, str] | None = None


@dataclass(frozen=True, slots=True)
class _Pair:
    """One top-level key of a JSON or YAML mapping, with the shape of its value."""

    key: str | None
    line: int
    shape: str  # "mapping", "null" or "other"
    value: Any


def _raw(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return truncate_raw(text)


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    return "null" if value is None else "other"


def _skip_space(text: str, idx: int) -> int:
    while idx < len(text) and text[idx] in " \t\n\r":
        idx += 1
    return idx


def _json_document(text: str, path: Path) -> tuple[Any, list[_Pair]]:
    """Parse a JSON file; for a top-level object, also list its keys with their lines."""
    if not text.strip():
        raise LoadError(path, "file is blank")
    data = parse_json(text, path, strict=False)
    if not isinstance(data, dict):
        return data, []
    # json.loads keeps the last of repeated keys; walk the text to see every key.
    decoder = json.JSONDecoder()
    pairs: list[_Pair] = []
    idx = _skip_space(text, 0) + 1
    line, counted = 1, 0
    while (idx := _skip_space(text, idx)) < len(text) and text[idx] != "}":
        line += text.count("\n", counted, idx)
        counted = idx
        key, idx = decoder.raw_decode(text, idx)
        idx = _skip_space(text, idx) + 1  # past the colon
        value, idx = decoder.raw_decode(text, _skip_space(text, idx))
        pairs.append(_Pair(key, line, _shape(value), value))
        idx = _skip_space(text, idx)
        if text[idx] == ",":
            idx += 1
    return data, pairs


def _yaml_construct(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    value = loader.construct_document(node)
    if isinstance(node, yaml.MappingNode) and isinstance(value, dict):
        for key_node, value_node in node.value:
            if (
                isinstance(key_node, yaml.ScalarNode)
                and key_node.value in _VERBATIM_KEYS
                and isinstance(value_node, yaml.ScalarNode)
                and value_node.tag in _YAML_NUMBER_TAGS
                and value_node.style is None
            ):
                value[key_node.value] = value_node.value
    return value


def _yaml_document(text: str, path: Path) -> tuple[Any, list[_Pair]]:
    """Parse a YAML file safely; for a top-level mapping, also list its keys with lines."""
    check_yaml(text, path)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        if not nodes:
            raise LoadError(path, "holds no YAML document (only comments or blank lines)")
        if len(nodes) > 1:
            raise LoadError(path, f"holds {len(nodes)} YAML documents, expected one")
        root = nodes[0]
        if not isinstance(root, yaml.MappingNode):
            return _yaml_construct(root), []
        yaml.SafeLoader("").flatten_mapping(root)
        pairs: list[_Pair] = []
        for key_node, value_node in root.value:
            key: str | None = None
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _YAML_NULL_TAG:
                # The key as written: `1.0:` or `yes:` name sites, not numbers or booleans.
                key = key_node.value
            value = _yaml_construct(value_node)
            pairs.append(_Pair(key, key_node.start_mark.line + 1, _shape(value), value))
        return _yaml_construct(root), pairs
    except yaml.YAMLError as exc:
        raise LoadError(path, yaml_problem(exc)) from exc


def _json_lines_entries(text: str) -> tuple[list[_Entry], int]:
    """Return the profile records of JSON Lines of GET answers, and the lines without one."""
    entries: list[_Entry] = []
    skipped = 0
    for number, line in enumerate(iter_lines(text), start=1):
        body = line.strip()
        if not body:
            skipped += 1
            continue
        raw = truncate_raw(body)
        if len(body) > records.MAX_LINE_BYTES:
            reason = long_line_reason(len(body), records.MAX_LINE_BYTES, "characters")
            entries.append(_Entry(None, number, None, raw, (None, reason)))
            continue
        try:
            answer = json.loads(body)
            too_deep = nesting_depth(answer) > MAX_DEPTH
        except json.JSONDecodeError as exc:
            problem = (None, f"invalid JSON: {exc.msg} (column {exc.colno})")
            entries.append(_Entry(None, number, None, raw, problem))
            continue
        except RecursionError:
            too_deep = True
        if too_deep:
            problem = (None, f"nesting deeper than {MAX_DEPTH} levels")
            entries.append(_Entry(None, number, None, raw, problem))
            continue
        entry = _answer_entry(answer, number, raw)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    return entries, skipped


def _answer_entry(answer: Any, line: int | None, raw: str) -> _Entry | None:
    """Turn one ``GET /profile/{site}`` answer into an entry; ``None`` for a null profile."""
    if not isinstance(answer, dict):
        return _Entry(None, line, None, raw, (None, "expected an object with site and profile"))
    site = answer.get("site")
    if not isinstance(site, str) or not site:
        reason = "missing" if site is None else "expected a non-empty string"
        return _Entry(None, line, None, raw, ("site", reason))
    if "profile" not in answer:
        return _Entry(site, line, None, raw, ("profile", "missing"))
    profile = answer["profile"]
    if profile is None:
        return None
    if not isinstance(profile, dict):
        return _Entry(site, line, None, raw, ("profile", "expected an object or null"))
    return _Entry(site, line, profile, raw)


def _base_name(file: SourceFile) -> str:
    name = file.path.name
    if file.gzip:
        name = name[: -len(".gz")]
    return name[: -len(file.kind) - 1]


def _single_site(file: SourceFile, site: str | None) -> str:
    if site is not None:
        return site
    stem = _base_name(file)
    if stem.lower() != "rtt":
        return stem
    parent = file.path.resolve().parent.name
    if not parent:
        raise LoadError(file.path, "cannot tell the site of an rtt file: pass site=")
    return parent


def _document_entries(file: SourceFile, text: str, site: str | None) -> tuple[list[_Entry], int]:
    """Return the profile records of one JSON or YAML document, and the null ones."""
    parse = _yaml_document if _FORMATS[file.kind] == "yaml" else _json_document
    data, pairs = parse(text, file.path)
    if not isinstance(data, dict):
        kind = "null" if data is None else type(data).__name__
        hint = " (GET answers, one per line, belong in a .jsonl file)" if kind == "list" else ""
        raise LoadError(file.path, f"top level is a {kind}, not a mapping{hint}")
    if not data:
        raise LoadError(file.path, "empty mapping: neither a profile nor a mapping of sites")
    keys = {p.key for p in pairs}
    single = (
        site is not None
        or _base_name(file).lower() == "rtt"
        or bool(keys & _MARKERS)
        or all(p.shape == "other" for p in pairs)
    )
    if single:
        return [_Entry(_single_site(file, site), None, data, _raw(data))], 0
    if keys == {"site", "profile"} and isinstance(data["site"], str):
        entry = _answer_entry(data, None, _raw(data))
        return ([], 1) if entry is None else ([entry], 0)
    entries: list[_Entry] = []
    skipped = 0
    for pair in pairs:
        raw = _raw(pair.value)
        if pair.key is None or not pair.key:
            entries.append(_Entry(None, pair.line, None, raw, (None, "site name is empty")))
        elif pair.shape == "null":
            skipped += 1
        elif pair.shape == "other":
            problem = (None, f"profile is a {type(pair.value).__name__}, not a mapping")
            entries.append(_Entry(pair.key, pair.line, None, raw, problem))
        else:
            entries.append(_Entry(pair.key, pair.line, pair.value, raw))
    return entries, skipped


def _file_entries(file: SourceFile, site: str | None) -> tuple[list[_Entry], int]:
    """Read one file into profile records; raise :class:`LoadError` if it cannot be read."""
    if file.kind not in _FORMATS:
        known = ", ".join(sorted(_FORMATS))
        raise FormatError(file.path, f"not a profile file: suffix {file.kind!r}, expected {known}")
    if site is not None and _FORMATS[file.kind] == "jsonl":
        raise InputError(f"{file.path}: site= names the site of a one-profile file, not JSON Lines")
    text = read_text(file)
    if _FORMATS[file.kind] == "jsonl":
        return _json_lines_entries(text)
    return _document_entries(file, text, site)


def _describe(exc: ValidationError) -> tuple[str | None, str]:
    errors = exc.errors(include_url=False)

    def loc(error: Any) -> str:
        return ".".join(str(part) for part in error["loc"])

    first = errors[0]
    rest = "".join(f"; {loc(e)}: {e['msg']}" if e["loc"] else f"; {e['msg']}" for e in errors[1:])
    return loc(first) or None, f"{first['msg']}{rest}"


def _where(source: str, line: int | None) -> str:
    return source if line is None else f"{source}:{line}"


def _accept(
    file: SourceFile,
    entries: list[_Entry],
    profiles: dict[str, Profile],
    defined: dict[str, str],
    report: LoadReport,
) -> FileStats:
    """Validate one file's records into ``profiles``; return the file's counts."""
    source = str(file.path)
    stats = FileStats(source, _FORMATS[file.kind] + ("+gzip" if file.gzip else ""))

    def reject(entry: _Entry, field: str | None, reason: str) -> None:
        stats.rejected += 1
        report.rejects.append(Reject(source, entry.line, field, reason, entry.raw))

    for entry in entries:
        stats.read += 1
        if entry.site is None:
            field, reason = entry.problem or (None, "no site")
            reject(entry, field, reason)
            continue
        first = defined.get(entry.site)
        if first is not None:
            reject(
                entry, None, f"duplicate profile for site {entry.site} (first defined in {first})"
            )
            continue
        defined[entry.site] = _where(source, entry.line)
        if entry.problem is not None:
            reject(entry, *entry.problem)
            continue
        try:
            profile = Profile.model_validate(entry.data)
            # YAML aliases can make a profile contain itself; it could not be written out.
            json.dumps(profile.model_extra, default=str)
        except ValidationError as exc:
            reject(entry, *_describe(exc))
        except (ValueError, RecursionError):
            reject(entry, None, "profile contains itself (recursive YAML alias)")
        else:
            profiles[entry.site] = profile
            stats.accepted += 1
    return stats


def _is_one_file(source: Source) -> bool:
    return isinstance(source, str | os.PathLike) and Path(source).is_file()


def read_profiles(source: Source, *, site: str | None = None, strict: bool = False) -> ProfileLoad:
    r"""Read site profiles from files, validating each one.

    Parameters
    ----------
    source
        A file, a directory (searched for ``json``, ``yaml``, ``yml``, ``jsonl``
        and ``ndjson`` files, each optionally ``.gz``), a glob, or a list of them.
        The accepted shapes are listed in the module docstring.
    site
        The site of a one-profile file (an ``rtt.json``, or a file whose name is
        not its site). Only valid when ``source`` is one file; the file is then
        read as one profile, whatever its keys.
    strict
        Raise instead of returning when a file failed or a profile was rejected.

    Returns
    -------
    ProfileLoad
        ``profiles`` (site to :class:`~rtt_topology.schemas.Profile`, sorted by
        site) and the ``report``: per file ``accepted + rejected == read``, null
        profiles counted in ``skipped_lines``, bad profiles in ``rejects``,
        unreadable files in ``failures``, other files of a directory in
        ``ignored_files``.

    Raises
    ------
    SourceNotFoundError
        If a path does not exist, or a directory or glob holds no profile file.
    LoadError
        If ``source`` is one file and it cannot be read (empty, binary, invalid
        JSON or YAML, several YAML documents, top level not a mapping, unsafe
        YAML tag, unknown suffix).
    StrictLoadError
        With ``strict=True``, if any file failed or any profile was rejected;
        the report is in its ``report`` attribute.
    InputError
        If ``site`` is given for several files or for JSON Lines.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "auth-service.yaml").write_text(
    ...     "rtt_version: 1.0\nsupports: [drift]\ndepends_on: [db]\n"
    ... )
    >>> _ = (folder / "more.json").write_text(
    ...     '{"db": {"version": "1.0", "supports": []},\n'
    ...     ' "api": {"rtt_version": "1.0", "supports": "drift"}}'
    ... )
    >>> profiles, report = read_profiles(folder)
    >>> sorted(profiles), profiles["auth-service"].rtt_version
    (['auth-service', 'db'], '1.0')
    >>> (report.read, report.accepted, report.rejected)
    (3, 2, 1)
    >>> print(report.rejects[0])  # doctest: +ELLIPSIS
    /.../more.json:2: supports: Value error, expected a list of strings, got one string
    """
    if site is not None:
        files, _ = expand_sources(source, kinds=_FORMATS)
        if len(files) != 1:
            raise InputError(f"site= names the site of one profile file; got {len(files)} files")
    report = LoadReport()
    profiles: dict[str, Profile] = {}
    defined: dict[str, str] = {}

    def read(file: SourceFile, on_bytes: Callable[[int], None]) -> None:
        entries, skipped = _file_entries(file, site)
        stats = _accept(file, entries, profiles, defined, report)
        stats.skipped_lines = skipped
        report.add_file(stats)

    read_each_file(source, kinds=_FORMATS, report=report, read=read, description="reading profiles")
    if strict:
        report.refuse_if_not_ok()
    return ProfileLoad(dict(sorted(profiles.items())), report)


def _rows(profiles: Mapping[str, Profile]) -> Iterator[dict[str, Any]]:
    for site, p in sorted(profiles.items()):
        extra = p.model_extra or {}
        yield {
            "site": site,
            "rtt_version": p.rtt_version,
            "supports": list(p.supports),
            "contact": p.contact,
            "depends_on": list(p.depends_on),
            "heartbeat_interval_s": p.heartbeat_interval_s,
            "layer": p.layer,
            "owner": p.owner,
            "lifecycle": p.lifecycle,
            "tags": list(p.tags),
            "extra": json.dumps(extra, ensure_ascii=False, default=str) if extra else None,
        }


def profiles_frame(profiles: Mapping[str, Profile]) -> pd.DataFrame:
    """Return one row per site with the profile fields.

    ====================  ========  ===============================================
    column                dtype     meaning
    ====================  ========  ===============================================
    site                  string    the site the profile belongs to
    rtt_version           string    ``rtt_version`` (or ``version``)
    supports              object    list of strings
    contact               string    null when absent
    depends_on            object    list of site names, ``[]`` when absent
    heartbeat_interval_s  float64   NaN when absent
    layer                 string    ``layer`` (or ``tier``), null when absent
    owner                 string    null when absent
    lifecycle             string    null when absent
    tags                  object    list of strings, ``[]`` when absent
    extra                 string    unknown keys as a JSON object, null when none
    ====================  ========  ===============================================

    ``string`` is ``pandas.StringDtype("pyarrow")`` (missing values are ``<NA>``);
    list columns hold Python lists (copies, not the models' own lists).

    Parameters
    ----------
    profiles
        Site to profile, as in :attr:`ProfileLoad.profiles`.

    Returns
    -------
    pandas.DataFrame
        Sorted by site, with a fresh ``RangeIndex``; the columns of
        :data:`PROFILE_COLUMNS`, also when empty.

    Examples
    --------
    >>> p = Profile.model_validate({"version": "1.0", "supports": ["drift"], "team": "core"})
    >>> frame = profiles_frame({"auth": p})
    >>> frame.loc[0, ["site", "supports", "tags", "extra"]].tolist()
    ['auth', ['drift'], [], '{"team": "core"}']
    >>> str(frame["contact"].dtype), bool(frame["contact"].isna()[0])
    ('string', True)
    """
    frame = pd.DataFrame(list(_rows(profiles)), columns=list(PROFILE_COLUMNS))
    return frame.astype(PROFILE_COLUMNS)  # type: ignore[arg-type]
