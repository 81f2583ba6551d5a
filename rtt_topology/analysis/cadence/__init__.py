"""Measure each service's heartbeat cadence per time bucket, and find where it drifts.

Upstream RTT asks services to beacon periodically (every 30-60 s) and names the
Grafana panel "heartbeat frequency", but gives no measure of cadence: what
follows is **ours**.

Heartbeats and intervals
------------------------
A service's *heartbeats* are the beacons of its most frequent event (its
``heartbeat``; ``cluster_heartbeat`` for a cluster), as
:func:`rtt_topology.aggregate.history.periods` chooses them. A *heartbeat interval* is the
time between two consecutive heartbeats of the same session with no ``startup``
or ``shutdown`` of that session between them: the gap across a restart, a
deploy or a crash is liveness's business, not cadence. Nor is a collector gap:
an interval of a service that lies within a collector gap of which the service
is a member (:func:`~rtt_topology.analysis.liveness.collector_gaps`, default
rule, same profiles: it starts at or after the gap's start and ends at or
before its end) is no interval, since its beacons were sent and lost on the
way, not late. An interval belongs to the bucket in which it ends.

Per bucket (:func:`cadence`)
----------------------------
===================  ==========================================================
column               definition
===================  ==========================================================
beacons              beacons of the site in the bucket (any event)
heartbeats           heartbeats in the bucket
median_interval_s    median of the heartbeat intervals ending in the bucket;
mean_interval_s,     also their mean, 95th percentile (linear interpolation)
p95_interval_s,      and maximum; ``NaN`` when no interval ends in the bucket
max_interval_s
period_s             the service's period, :func:`rtt_topology.aggregate.history.periods`
                     (declared, else inferred, else the default)
expected             ``covered / period_s``: ``covered`` is the part of the
                     bucket inside the window and after the site's first beacon
adherence            ``min(1, heartbeats / expected)``; ``NaN`` when nothing is
                     expected (``expected == 0``)
reference_s          the interval the service should keep (below)
ratio                ``median_interval_s / reference_s``
log2_ratio           ``log2(ratio)``: 0 on cadence, 1 at half the pace, -1 at twice
cadence_drift        ``|log2_ratio|``: how far off cadence, either way
===================  ==========================================================

The *reference* is the declared ``heartbeat_interval_s`` of the service's profile
when there is one (drift is divergence from the *declared* structure); else the
median heartbeat interval of the service's first ``reference_s`` seconds of data
(default one hour, at least three intervals); else ``period_s``. A reference
window, not the whole history, so that a slowdown lasting most of the history
does not become the norm.

The log of the ratio makes slowing down and speeding up by the same factor
equally far from the reference, and the median of a bucket shrugs off one late
beacon (a GC pause, a slow network).

Cadence changes (:func:`cadence_changes`)
-----------------------------------------
A bucket is *off cadence* when ``cadence_drift > log2(threshold)``, that is when
its median interval is more than ``threshold`` times (default 1.5: 50 % slower)
or less than ``1 / threshold`` times (33 % faster) the reference. An *episode* is
a run of at least ``min_buckets`` (default 2) consecutive off-cadence buckets
of the same direction; buckets in which no interval ends (a silent service, a
period longer than the bucket) neither extend nor break a run. The threshold
sits far above the jitter seen in practice (a few percent; a late beacon moves a
5-minute median little) and two buckets are asked for so that a single odd
bucket is not an episode.

An episode's ``start`` is when the change began, to the heartbeat, not the
bucket: buckets only say *that* the pace changed, a bucket late at worst. Take
the heartbeat intervals of the site that end in the bucket before the first
off-cadence bucket or in that bucket, in time order, and flag each one *off*
when it is beyond ``threshold`` in the episode's direction (``interval >
threshold * reference`` when slower, ``interval < reference / threshold`` when
faster). The change is the split ``k`` that leaves fewest disagreeing
intervals, ``sum(off[:k]) + sum(1 - off[k:])`` (the earliest ``k`` on a tie),
and ``start`` is the heartbeat that opens interval ``k`` (its end minus its
length). So a single late beacon before the change does not move it, and the
start is at most one interval before the first slow (or fast) one.

Windows and buckets: ``bucket`` is a fixed pandas duration (``"5min"``, ``"1h"``),
aligned as :meth:`pandas.Timestamp.floor` aligns it; the window is
``[start, end)``, by default from the first beacon to just after the last one.
Rows are labelled by their bucket's start (UTC); every site with beacons gets a
row for every bucket of the window. Tables with one row per site and bucket
have a categorical ``site`` column, as the beacon table does.

Engines: both functions take a beacon table or a
:class:`~rtt_topology.aggregate.engines.History` and an ``engine``
(:func:`~rtt_topology.aggregate.engines.choose_engine`). DuckDB runs the SQL
definitions of :mod:`rtt_topology.aggregate.sql.cadence` (beacons, heartbeats and
interval statistics per site and bucket, one group of sites at a time) and the
columns are derived from those small tables as the pandas path derives them; the
results are equal (floats to rounding). Times are microseconds in DuckDB.
"""

from rtt_topology.analysis.cadence.changes import CADENCE_THRESHOLD, cadence_changes
from rtt_topology.analysis.cadence.table import CADENCE_COLUMNS, REFERENCE_S, cadence

__all__ = [
    "CADENCE_COLUMNS",
    "CADENCE_THRESHOLD",
    "REFERENCE_S",
    "cadence",
    "cadence_changes",
]
