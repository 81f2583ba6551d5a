"""Measure structural drift: how far each page's structure moved from its baseline.

Upstream RTT defines drift as the divergence of a system from its declared
structure, on a scale of 0 (none) to 1, in three kinds (gradual, sudden,
oscillating), without a formula: the formula below is **ours**.

The structure of a beacon is its title and its five counts (``nav_count``,
``main_count``, ``form_count``, ``button_count``, ``dom_nodes``). Pages of a web
site differ, so structure is compared per ``(site, url)``; beacons without a
url carry no structure and are left out. Backends send zeros and a constant
title: their drift is 0.

Baseline and observation
------------------------
The *baseline* of a ``(site, url)`` is the median of each count and the most
frequent title of its first ``baseline_beacons`` beacons (default 10), or of its
beacons in ``baseline_window`` when one is given (a page without beacons there
falls back to its first ones). The *observed* structure of a ``(site, url)`` in a
bucket is the median of each count and the most frequent title of its beacons in
the bucket. Medians, because the DOM of a page jitters by a few percent between
visits and a single odd render must not move a whole bucket; title ties go to
the title that sorts first. Null counts and titles are absent, not zero: they
are skipped.

Distance
--------
For a count with observed value ``x`` and baseline ``b``::

    d = |x - b| / max(x, b)     (0 when x == b == 0)
    d = 0 when |x - b| <= tolerance * max(x, b)

The relative difference is in [0, 1] for non-negative counts, symmetric, and
scale-free: 8 to 3 nav blocks weighs 0.625, 1840 to 2576 DOM nodes 0.286. The
tolerance (default 10 %) absorbs DOM jitter, which is not drift. The title
distance is 1 when the titles differ, else 0. The *url drift* is the mean of
the components present (at most six); a site's *drift* in a bucket is the mean
of its url drifts weighted by their beacons in the bucket. Every score is in
[0, 1].

Drift events
------------
:func:`drift_events` compares each beacon with the previous beacon of the same
``(site, url)``: a count that moved beyond the tolerance or a different title
(both values present) is a structural change, one event per beacon, listing the
fields that changed. :func:`drift_event_counts` counts them per site (the
``rtt_drift_events_total`` counter).

Kinds
-----
:func:`drift_kinds` reads a site's drift series (buckets with a score, in time
order). A bucket is *drifted* when its drift is at least ``min_drift`` (0.05).
The kind is ``none`` when no bucket is drifted; ``oscillating`` when the
drifted/not-drifted state changes at least three times (it drifted, came back
and drifted again); ``sudden`` when the largest rise between consecutive
buckets is at least half of the largest drift reached; ``gradual`` otherwise.

Windows and buckets are those of :mod:`rtt_topology.analysis.cadence`.

Engines
-------
:func:`drift`, :func:`url_drift`, :func:`drift_events` and :func:`drift_event_counts`
take a beacon table or a :class:`~rtt_topology.aggregate.engines.History` and an
``engine`` (:func:`~rtt_topology.aggregate.engines.choose_engine`). DuckDB runs the SQL
definitions of :mod:`rtt_topology.aggregate.sql.drift` one group of sites at a time:
each page's structure per bucket and its baseline (medians, title modes) come back as
small tables and are scored as the pandas path scores them; a page's previous beacon
is found with ``lag``. The results are equal (floats to rounding).
"""

from rtt_topology.analysis.drift.events import drift_event_counts, drift_events
from rtt_topology.analysis.drift.kinds import DRIFT_KINDS, drift_kinds
from rtt_topology.analysis.drift.pages import BASELINE_BEACONS, STRUCTURE_FIELDS, TOLERANCE
from rtt_topology.analysis.drift.scores import drift, url_drift

__all__ = [
    "BASELINE_BEACONS",
    "DRIFT_KINDS",
    "STRUCTURE_FIELDS",
    "TOLERANCE",
    "drift",
    "drift_event_counts",
    "drift_events",
    "drift_kinds",
    "url_drift",
]
