"""Write beacons as a collector does: roughly in time order, some retried, a few broken."""

from __future__ import annotations

import json

import numpy as np

from rtt_topology.demo.runner import Process

__all__ = ["DUPLICATE_RATE", "SHUFFLE_LINES", "collector_lines", "mangle", "render", "stamp"]

#: Fraction of beacons written twice.
DUPLICATE_RATE = 0.005
#: How far a line may move from its place in time order.
SHUFFLE_LINES = 8


def stamp(ms: float, sdk: str) -> str:
    """Format an instant as an SDK stamps it: whole seconds on ``py``, milliseconds otherwise.

    Examples
    --------
    >>> stamp(1768834800123.9, "py"), stamp(1768834800123.9, "js")
    ('2026-01-19T15:00:00Z', '2026-01-19T15:00:00.123Z')
    """
    whole = int(ms)
    if sdk == "py":
        return str(np.datetime64(whole // 1000, "s")) + "Z"
    return str(np.datetime64(whole, "ms")) + "Z"


def render(service: Process, skew_ms: int = 0) -> list[tuple[float, str]]:
    """Return a process's beacons as ``(instant as stamped, JSON line)`` pairs.

    Parameters
    ----------
    service
        The process, after its run.
    skew_ms
        How far ahead its clock runs: added to every stamp.

    Returns
    -------
    list of tuple
        Compact JSON in the upstream key order ``site, session, event, ts, structure``.

    Examples
    --------
    >>> import numpy as np
    >>> from rtt_topology.demo.catalog import ServiceSpec
    >>> spec = ServiceSpec("api", "api", "east", [], "API", "js", "team")
    >>> proc = Process(spec, 30, 1768834800000, np.random.default_rng(0))
    >>> proc.run(1768834860000)
    >>> at, line = render(proc, skew_ms=90_000)[0]
    >>> import json
    >>> record = json.loads(line)
    >>> record["event"], record["ts"] > "2026-01-19T15:01:30Z"
    ('heartbeat', True)
    """
    out = []
    for at, session, event, structure in service.rows:
        record = {
            "site": service.spec.name,
            "session": session,
            "event": event,
            "ts": stamp(at + skew_ms, service.spec.sdk),
            "structure": structure,
        }
        out.append((at + skew_ms, json.dumps(record, separators=(",", ":"))))
    return out


def mangle(line: str, how: int) -> str:
    """Break a beacon line the way writers do.

    Parameters
    ----------
    line
        A valid beacon line.
    how
        0 cuts it in half (invalid JSON), 1 drops the ``Z`` of its timestamp (a
        naive time), 2 makes ``dom_nodes`` negative.

    Returns
    -------
    str
        The broken line.

    Examples
    --------
    >>> mangle('{"site":"a","ts":"2026-01-19T15:00:00Z","structure":{}}', 1)
    '{"site":"a","ts":"2026-01-19T15:00:00","structure":{}}'
    """
    if how == 0:
        return line[: len(line) // 2]
    record = json.loads(line)
    if how == 1:
        record["ts"] = record["ts"].rstrip("Z")
    else:
        record["structure"]["dom_nodes"] = -1
    return json.dumps(record, separators=(",", ":"))


def collector_lines(
    lines: list[tuple[float, str]], rng: np.random.Generator, malformed: int = 0
) -> tuple[list[str], int]:
    """Order lines roughly by time, write a few twice (retries) and break ``malformed`` of them.

    Each line moves at most :data:`SHUFFLE_LINES` places from its place in time
    order; each is copied with probability :data:`DUPLICATE_RATE`, the copy 1 to
    5 lines later; the broken lines are extra lines (copies of valid ones,
    broken by :func:`mangle` in turn 0, 1, 2...), none in the first tenth of the file.

    Parameters
    ----------
    lines
        ``(instant, line)`` pairs, in any order.
    rng
        The random stream.
    malformed
        How many broken lines to add.

    Returns
    -------
    tuple
        The lines of the file, and how many copies were written.

    Examples
    --------
    >>> pairs = [(float(t), f'{{"n":{t}}}') for t in range(1000)]
    >>> texts, copies = collector_lines(pairs, np.random.default_rng(1))
    >>> len(texts) == 1000 + copies, texts == sorted(texts, key=lambda x: int(x[5:-1]))
    (True, False)
    """
    lines = sorted(lines, key=lambda x: x[0])
    # A bounded offset added to each position, then a sort: local shuffles only.
    order = np.argsort(np.arange(len(lines)) + rng.uniform(0, SHUFFLE_LINES, len(lines)))
    texts = [lines[i][1] for i in order]
    copies = np.flatnonzero(rng.random(len(texts)) < DUPLICATE_RATE)
    for k in sorted(copies, reverse=True):
        texts.insert(min(len(texts), int(k) + int(rng.integers(1, 6))), texts[int(k)])
    where = rng.choice(np.arange(len(texts) // 10, len(texts)), size=malformed, replace=False)
    for how, k in enumerate(where):
        texts.insert(int(k), mangle(texts[int(k)], how))
    return texts, len(copies)
