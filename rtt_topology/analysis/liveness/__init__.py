"""Tell whether each service is alive, at any moment, and how its state changed over time.

The semantics follow healthchecks.io (period and grace) and Uptime Kuma (up, down,
pending, maintenance). Each service has a **period** P: its profile's
``heartbeat_interval_s``, else the period inferred from its beacons
(:func:`rtt_topology.aggregate.history.periods`), else ``default_period_s`` (60 s); and a
**grace** G: ``grace_s`` when given (one value for every service), else one period;
and a **jitter** allowance j (default 0.1): beacons arrive a little before or after
their period, so a service stays up until ``U = min(P * (1 + j), P + G)``.
Any beacon of a service is a sign of life. A service's **age** at a time ``t`` is
``t`` minus its last beacon at or before ``t``; beacons after ``t`` are ignored,
so the state at any past moment can be asked.

==========  =================================================================
state       when (first match, top to bottom: the precedence)
==========  =================================================================
missing     declared in a profile, no beacon at or before ``t``
stopped     the last beacon is a ``shutdown``: a planned stop, not an alarm
unknown     the last beacon opens the service's silence in a collector gap
            (:func:`collector_gaps`) and age >= U: the collector, not the
            service, went quiet, so nothing is known until its next beacon
down        age >= P + G (and the last beacon is not a ``shutdown``)
flapping    more than ``flapping_restarts`` restarts
            (:func:`rtt_topology.aggregate.history.restarts`) in the ``flapping_window_s``
            seconds ending at ``t``; it overrides up and late only
late        U <= age < P + G
up          age < U
==========  =================================================================

:data:`STATES` lists them from the mildest to the most severe, which is also
the order of the categorical ``state`` columns (``max()`` gives the worst).
``unknown`` sits between ``down`` and ``stopped``: it overrides down, flapping,
late and up, and it is not counted as downtime.
Intervals are half-open, as in healthchecks.io: a service becomes late at exactly
``last beacon + U``. Whether a service is *undeclared* (beacons, no profile) is a
separate boolean column of :func:`states`, not a state; without profiles it is
unknown (``<NA>``) and nothing is missing.

A window ``[start, end)`` (:func:`timeline` and what derives from it) defaults to
the first and the last beacon of the table; being half-open, it leaves out a
beacon exactly at ``end``, which :func:`states` at ``end`` counts.

Which services: the sites of the beacon table, except clusters (sites that send
only ``cluster_heartbeat``, :func:`rtt_topology.aggregate.history.cluster_sites`), and the
sites declared by a profile. Periods, restarts, clusters and collector gaps are
computed once on the whole table given, so a state at ``t`` and the :func:`timeline`
agree (a gap is known only once its members came back).

**Collector gaps.** When most services of one collector file (the beacons'
``source``) or one declared cluster (a profile's ``cluster:`` key) fall silent
within about one period of each other and come back together, the collector
failed, not each service. :func:`collector_gaps` gives the rule in full: crash
silences of at least ``min_services`` (3) services, at least ``min_fraction``
(60 %) of the group's services active at the time, whose starts and whose ends
lie within ``max(P, gap_tolerance_s)`` (180 s) of each other. Every function
here takes ``gaps=True`` (default), a :class:`GapRule`, or ``False`` to judge
each silence on its own. A service that stays silent after the others came back
is not a member: its silence stays down from its own last beacon.

The history of states is a piecewise-constant :func:`timeline`: after each beacon
``b`` of a service, with ``b'`` its next beacon (or the window end), the service
is stopped on ``[b, b')`` if ``b`` is a shutdown, else up on ``[b, b + U)``, then
unknown on ``[b + U, b')`` if ``b`` opens a collector gap silence, else late on
``[b + U, b + P + G)`` and down on ``[b + P + G, b')``, each cut at ``b'``; equal
consecutive states are merged, and flapping replaces up and late while the
rolling restart count exceeds the limit. Segments are generated only where a
gap exceeds ``U`` (numpy over the whole table), never one row per beacon: the
jitter allowance is what keeps beacons a second or two behind their period from
showing as short late segments.
:func:`flips`, :func:`downtime`, :func:`uptime` and :func:`time_in_states`
are derived from the timeline: downtime has no episode for unknown time, and
uptime and time in states count it in ``unknown_s``, outside uptime's
denominator.

Tables with one row per service have a ``str`` site column; tables with several
rows per service (timeline, flips, downtime, time_in_states) have a categorical
one, as the beacon table does.

**Engines.** Every function here takes a beacon table or a
:class:`~rtt_topology.aggregate.engines.History` (a history store scanned by
DuckDB), and ``engine="auto" | "pandas" | "duckdb"``. Only a few beacons change a
state: a service's first and last, its shutdowns, those followed by a silence
longer than ``U`` and the beacon after each. On DuckDB an SQL query keeps just
those (:mod:`rtt_topology.aggregate.sql.silences`), each with the time of its
service's next beacon, chunk of services by chunk
(:mod:`rtt_topology.analysis.liveness.reduced`); the timeline, the gaps and the
states are then computed as from every beacon, in memory O(services + silences).
Both engines give the same tables.
"""

from rtt_topology.aggregate.history import restarts
from rtt_topology.analysis.liveness.gaps import (
    DEFAULT_GAP_RULE,
    GAP_COLUMNS,
    GapRule,
    collector_gaps,
    in_gaps,
)
from rtt_topology.analysis.liveness.measures import downtime, flips, time_in_states, uptime
from rtt_topology.analysis.liveness.prepared import (
    DEFAULT_JITTER,
    DOWN,
    FLAPPING,
    LATE,
    MISSING,
    STATE_DTYPE,
    STATES,
    STOPPED,
    UNKNOWN,
    UP,
)
from rtt_topology.analysis.liveness.segments import timeline
from rtt_topology.analysis.liveness.table import states

__all__ = [
    "DEFAULT_GAP_RULE",
    "DEFAULT_JITTER",
    "DOWN",
    "FLAPPING",
    "GAP_COLUMNS",
    "LATE",
    "MISSING",
    "STATES",
    "STATE_DTYPE",
    "STOPPED",
    "UNKNOWN",
    "UP",
    "GapRule",
    "collector_gaps",
    "downtime",
    "flips",
    "in_gaps",
    "restarts",
    "states",
    "time_in_states",
    "timeline",
    "uptime",
]
