"""Score an incidents table against a truth table: matches, false alarms, misses, start error.

Works on plain DataFrames (the demo imports no pipeline stage): ``detected`` has
the columns ``kind``, ``sites`` and ``start`` of
:func:`~rtt_topology.incidents.find_incidents`; ``truth`` those of
:data:`~rtt_topology.demo.noisy.TRUTH_COLUMNS`.

Matching rule
-------------
A detected incident *matches* a truth row when

1. the kinds are equal;
2. the sites agree: the same set of sites, or, when the truth names several
   sites (a ``collector_gap``), every one of them is among the detected sites;
3. the starts agree: ``|detected start - truth start| <= period_s * (1 + jitter)``:
   one heartbeat interval of the service before the incident, as long as its
   jitter can make it (nothing is seen before the next beacon comes, and with a
   15 % jitter it comes up to 1.15 periods later); a truth row without a start
   (``quarantined_records``) matches on 1 and 2 alone.

Pairs are made greedily, the closest start first; each row is used at most once.
Every truth row left is a *miss* (false negative), every detected row left a
*false alarm* (false positive). Per kind: ``precision = tp / (tp + fp)`` and
``recall = tp / (tp + fn)`` (NaN when the denominator is 0), and the start
error ``detected start - truth start`` of the matches, its median and maximum
absolute value in seconds and in periods. A detected incident whose start is
more than one period off is also listed with its error among the misses'
``nearest_s`` column, so that a late detection is told apart from no detection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rtt_topology.demo.noisy import JITTER

__all__ = ["SCORE_COLUMNS", "AccuracyScore", "format_score", "score_incidents"]

#: Columns of :attr:`AccuracyScore.table`.
SCORE_COLUMNS: tuple[str, ...] = (
    "kind",
    "truth",
    "detected",
    "tp",
    "fp",
    "fn",
    "precision",
    "recall",
    "median_error_s",
    "max_error_s",
    "median_error_periods",
    "max_error_periods",
)


@dataclass(frozen=True)
class AccuracyScore:
    """What :func:`score_incidents` found."""

    #: One row per kind seen in either table: counts, precision, recall, start error.
    table: pd.DataFrame
    #: Matched pairs: ``kind``, ``sites``, ``truth_start``, ``detected_start``, ``error_s``,
    #: ``error_periods``.
    matches: pd.DataFrame
    #: Detected incidents that match no truth row (their ``kind``, ``sites``, ``start``,
    #: ``summary`` when given).
    false_alarms: pd.DataFrame
    #: Truth rows no detection matches, with ``nearest_s``: the start error of the
    #: nearest detection of the same kind and sites (NaN when there is none).
    misses: pd.DataFrame


def _sites_agree(truth_sites: list[str], found_sites: list[str]) -> bool:
    want, got = set(truth_sites), set(found_sites)
    return want == got or (len(want) > 1 and want <= got)


def _seconds(a: Any, b: Any) -> float:
    if pd.isna(a) or pd.isna(b):
        return float("nan")
    return float((pd.Timestamp(a) - pd.Timestamp(b)).total_seconds())


def score_incidents(
    detected: pd.DataFrame, truth: pd.DataFrame, *, jitter: float = JITTER
) -> AccuracyScore:
    """Match detected incidents to the truth and count hits, false alarms and misses per kind.

    The matching rule is in the module docstring.

    Parameters
    ----------
    detected
        Incidents: ``kind``, ``sites`` (lists), ``start`` (UTC; NaT when unknown),
        optionally ``summary``.
    truth
        The truth table: ``kind``, ``sites``, ``start``, ``period_s``.
    jitter
        The relative jitter of the heartbeat intervals: a start may be off by
        ``period_s * (1 + jitter)``.

    Returns
    -------
    AccuracyScore
        The per-kind table (:data:`SCORE_COLUMNS`), the matches, the false
        alarms and the misses.

    Examples
    --------
    >>> t0 = pd.Timestamp("2026-01-19T10:00:00Z")
    >>> truth = pd.DataFrame({"kind": ["outage"], "sites": [["api"]], "start": [t0],
    ...                       "period_s": [60.0]})
    >>> found = pd.DataFrame({"kind": ["outage", "outage"], "sites": [["api"], ["db"]],
    ...                       "start": [t0 + pd.Timedelta("65s"), t0]})
    >>> score = score_incidents(found, truth)
    >>> score.table[["kind", "tp", "fp", "fn", "precision", "recall", "max_error_s"]]
         kind  tp  fp  fn  precision  recall  max_error_s
    0  outage   1   1   0        0.5     1.0         65.0
    >>> score.false_alarms["sites"].tolist()
    [['db']]
    """
    found = detected.reset_index(drop=True)
    want = truth.reset_index(drop=True)
    candidates = []
    nearest: dict[int, float] = {}
    found_rows = found.to_dict("records")
    for i, t in enumerate(want.to_dict("records")):
        for j, d in enumerate(found_rows):
            if d["kind"] != t["kind"] or not _sites_agree(list(t["sites"]), list(d["sites"])):
                continue
            error = _seconds(d["start"], t["start"])
            if pd.isna(t["start"]):
                candidates.append((0.0, i, j, error))
                continue
            if error == error and (i not in nearest or abs(error) < abs(nearest[i])):
                nearest[i] = error
            if error == error and abs(error) <= float(t["period_s"]) * (1 + jitter):
                candidates.append((abs(error), i, j, error))
    used_t: set[int] = set()
    used_d: set[int] = set()
    pairs = []
    for _, i, j, error in sorted(candidates, key=lambda c: (c[0], c[1], c[2])):
        if i in used_t or j in used_d:
            continue
        used_t.add(i)
        used_d.add(j)
        period = float(want["period_s"][i])
        pairs.append(
            {
                "kind": want["kind"][i],
                "sites": list(want["sites"][i]),
                "truth_start": want["start"][i],
                "detected_start": found["start"][j],
                "error_s": error,
                "error_periods": error / period if period > 0 else float("nan"),
            }
        )
    matches = pd.DataFrame(
        pairs,
        columns=["kind", "sites", "truth_start", "detected_start", "error_s", "error_periods"],
    )
    shown = [c for c in ("kind", "sites", "start", "summary") if c in found.columns]
    false_alarms = found.loc[[j for j in range(len(found)) if j not in used_d], shown]
    missed = [i for i in range(len(want)) if i not in used_t]
    misses = want.loc[missed].copy()
    misses["nearest_s"] = [nearest.get(i, float("nan")) for i in missed]
    kinds = list(dict.fromkeys([*want["kind"], *found["kind"]]))
    rows = []
    for kind in kinds:
        hits = matches[matches["kind"] == kind]
        tp = len(hits)
        fp = int((false_alarms["kind"] == kind).sum())
        fn = int((misses["kind"] == kind).sum())
        errors = hits["error_s"].abs().dropna()
        periods = hits["error_periods"].abs().dropna()
        rows.append(
            {
                "kind": kind,
                "truth": int((want["kind"] == kind).sum()),
                "detected": int((found["kind"] == kind).sum()),
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": tp / (tp + fp) if tp + fp else float("nan"),
                "recall": tp / (tp + fn) if tp + fn else float("nan"),
                "median_error_s": float(errors.median()) if len(errors) else float("nan"),
                "max_error_s": float(errors.max()) if len(errors) else float("nan"),
                "median_error_periods": float(periods.median()) if len(periods) else np.nan,
                "max_error_periods": float(periods.max()) if len(periods) else np.nan,
            }
        )
    table = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    return AccuracyScore(
        table, matches, false_alarms.reset_index(drop=True), misses.reset_index(drop=True)
    )


def format_score(score: AccuracyScore) -> str:
    """Render a score as a plain-text table, then every false alarm and every miss.

    Parameters
    ----------
    score
        A :func:`score_incidents` result.

    Returns
    -------
    str
        Lines for a terminal.

    Examples
    --------
    >>> empty = pd.DataFrame({"kind": [], "sites": [], "start": [], "period_s": []})
    >>> print(format_score(score_incidents(empty, empty)))  # doctest: +NORMALIZE_WHITESPACE
    kind  truth  found  tp  fp  fn  precision  recall  error s (med/max)  periods (med/max)
    false alarms: none
    misses: none
    """

    def num(value: float, digits: int = 2) -> str:
        return "-" if value != value else f"{value:.{digits}f}"

    width = max([4, *(len(k) for k in score.table["kind"])])
    lines = [
        f"{'kind':<{width}}  truth  found  tp  fp  fn  precision  recall  "
        "error s (med/max)  periods (med/max)"
    ]
    for r in score.table.to_dict("records"):
        error_s = f"{num(r['median_error_s'], 0)} / {num(r['max_error_s'], 0)}"
        error_p = f"{num(r['median_error_periods'])} / {num(r['max_error_periods'])}"
        counts = "  ".join(f"{r[c]:>{w}}" for c, w in (("truth", 5), ("detected", 5),
                           ("tp", 2), ("fp", 2), ("fn", 2)))  # fmt: skip
        lines.append(
            f"{r['kind']:<{width}}  {counts}"
            f"  {num(r['precision']):>9}  {num(r['recall']):>6}  {error_s:>17}  {error_p:>17}"
        )
    if score.false_alarms.empty:
        lines.append("false alarms: none")
    else:
        lines.append(f"false alarms ({len(score.false_alarms)}):")
        for a in score.false_alarms.to_dict("records"):
            what = a.get("summary") or ""
            lines.append(f"  {a['kind']} {','.join(a['sites'])} at {a['start']}: {what}")
    if score.misses.empty:
        lines.append("misses: none")
    else:
        lines.append(f"misses ({len(score.misses)}):")
        for m in score.misses.to_dict("records"):
            near = m["nearest_s"]
            hint = "nothing detected" if near != near else f"nearest detection {near:+.0f} s"
            lines.append(
                f"  {m['kind']} {','.join(m['sites'])} at {m['start']} "
                f"(period {m['period_s']:.0f} s): {hint}"
            )
    return "\n".join(lines)
