"""Write the demo datacenter's rules and corridors: the policy files its checks run against.

Both texts are written for the default demo (40 services, any seed and length):
the services they name are the demo's base services.

Rules (:func:`demo_rules_text`): every rule holds on the demo except two, which
the scenario breaks on purpose:

- ``no-upward-calls`` (``layers`` edge > api > worker > data), broken by the
  injected layering violation (``ground_truth["layering_violation"]``: a worker
  calling the API gateway);
- ``production-on-supported`` (``lifecycle``, a warning), broken by the production
  services that depend on the deprecated and the experimental one
  (``ground_truth["deprecated"]``, ``["experimental"]``).

``liveness_budget`` and ``max_heartbeat_interval`` read beacons: without them the
first is not evaluated and the second uses declared periods only.

Corridors (:func:`demo_corridors_text`): every route of requests entering at
``account.example.com`` and of the ``report-worker`` jobs, as the declared
dependencies allow them, within latency bounds; except:

- ``account-webhooks``, whose bound is deliberately too tight for its
  asynchronous hop (a queue consumer): ``too_slow``;
- ``webhook-delivery``: the webhook worker's jobs that carry the layering
  violation leave its declared route at the first hop: ``off_corridor``;
- ``loyalty-points``: the silent declared service never sends traces: ``unused``.
"""

from __future__ import annotations

__all__ = ["demo_corridors_text", "demo_rules_text"]

_RULES = """\
# Rules of the demo datacenter (rtt-topology's constraint language, version 1).
version: 1
fail_on: error
rules:
  - id: no-upward-calls
    kind: layers
    description: calls go down the tiers, never up
    order: [edge, api, worker, data]
    attribute: layer
  - id: no-cycles
    kind: acyclic
    description: no dependency cycle, traced or declared
  - id: production-on-supported
    kind: lifecycle
    severity: warning
    description: production services do not depend on deprecated or experimental ones
    forbidden: [deprecated, experimental]
    of: [production]
  - id: web-never-queries-databases
    kind: forbidden_edge
    description: websites go through the API tier
    source: "*.example.com"
    target: "*-db"
  - id: legacy-billing-callers
    kind: allowed_callers
    description: only payments talks to the legacy billing system
    target: legacy-billing
    callers: [payments-api]
  - id: payments-db-owners
    kind: allowed_callers
    target: payments-db
    callers: [payments-api, legacy-billing]
  - id: fan-out
    kind: max_fan_out
    limit: 10
  - id: fan-in
    kind: max_fan_in
    limit: 8
  - id: websites-support-corridors
    kind: required_capability
    pattern: "*.example.com"
    supports: [corridor]
  - id: everyone-reports-coherence
    kind: required_capability
    supports: [coherence]
  - id: heartbeat-every-two-minutes
    kind: max_heartbeat_interval
    severity: warning
    max_interval_s: 120
  - id: databases-available
    kind: liveness_budget
    pattern: "*-db"
    min_uptime_pct: 99.0
"""

_CORRIDORS = """\
# Corridors of the demo datacenter (rtt-topology's corridor file, version 1).
# Paths start where requests enter (a trace root); latency bounds are on the p95.
version: 1
corridors:
  - name: account-sign-in
    path: [account.example.com, edge-ingress, auth-service, users-db]
    max_latency_ms: 150
  - name: account-session
    path: [account.example.com, edge-ingress, auth-service, session-cache]
    max_latency_ms: 150
  - name: account-audit
    path: [account.example.com, edge-ingress, auth-service, audit-db]
    max_latency_ms: 150
  - name: account-profile
    path: [account.example.com, edge-ingress, users-api, users-db]
    max_latency_ms: 150
  - name: account-profile-sign-in
    path: [account.example.com, edge-ingress, users-api, auth-service, users-db]
    max_latency_ms: 150
  - name: account-profile-session
    path: [account.example.com, edge-ingress, users-api, auth-service, session-cache]
    max_latency_ms: 150
  - name: account-profile-audit
    path: [account.example.com, edge-ingress, users-api, auth-service, audit-db]
    max_latency_ms: 150
  - name: account-notifications
    path: [account.example.com, edge-ingress, notifications-api, users-db]
    max_latency_ms: 150
  - name: account-webhooks
    description: through the events queue; the bound ignores the queue delay (too tight)
    path: [account.example.com, edge-ingress, notifications-api, webhook-worker, orders-db]
    max_latency_ms: 100
  - name: report-orders
    path: [report-worker, orders-db]
    max_latency_ms: 200
  - name: report-archive
    path: [report-worker, reports-db]
    max_latency_ms: 200
  - name: webhook-delivery
    description: the webhook worker's own jobs only touch the orders database
    path: [webhook-worker, orders-db]
  - name: loyalty-points
    description: the loyalty service is declared but silent
    path: [loyalty-api, users-db]
    max_latency_ms: 100
"""


def demo_rules_text() -> str:
    """Return the demo's rules file (YAML), written as ``rules.yaml`` next to the data.

    Examples
    --------
    >>> from rtt_topology.diagnostics.rules.ruleset import parse_rules
    >>> [r.kind for r in parse_rules(demo_rules_text()).rules][:3]
    ['layers', 'acyclic', 'lifecycle']
    """
    return _RULES


def demo_corridors_text() -> str:
    """Return the demo's corridors file (YAML), written as ``corridors.yaml`` next to the data.

    Examples
    --------
    >>> from rtt_topology.diagnostics.corridors import parse_corridors
    >>> parse_corridors(demo_corridors_text()).corridors[-1].name
    'loyalty-points'
    """
    return _CORRIDORS
