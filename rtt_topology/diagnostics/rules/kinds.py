"""The rule kinds of the constraint language, gathered: the ``Rule`` union and the registry.

Each kind is a pydantic model whose ``check`` method looks at a service graph
(and beacons, for the liveness kinds) and returns its violations: the kinds over
the graph's shape are in :mod:`~rtt_topology.diagnostics.rules.structure`, those
over each service in :mod:`~rtt_topology.diagnostics.rules.services`, and what
they share in :mod:`~rtt_topology.diagnostics.rules.base`. The language, the
statuses and the baseline are described in :mod:`rtt_topology.diagnostics.rules`.
"""

from __future__ import annotations

from typing import Annotated, get_args

from pydantic import Field

from rtt_topology.diagnostics.rules.base import (
    EDGE_SCOPES,
    SEVERITIES,
    Context,
    Outcome,
    RuleKind,
    Violation,
)
from rtt_topology.diagnostics.rules.services import (
    DeclaredCrossGroup,
    Lifecycle,
    LivenessBudget,
    MaxHeartbeatInterval,
    RequiredCapability,
)
from rtt_topology.diagnostics.rules.structure import (
    Acyclic,
    AllowedCallers,
    ForbiddenEdge,
    Independence,
    Layers,
    MaxFanIn,
    MaxFanOut,
)

__all__ = [
    "EDGE_SCOPES",
    "RULE_CLASSES",
    "RULE_KINDS",
    "SEVERITIES",
    "Acyclic",
    "AllowedCallers",
    "Context",
    "DeclaredCrossGroup",
    "ForbiddenEdge",
    "Independence",
    "Layers",
    "Lifecycle",
    "LivenessBudget",
    "MaxFanIn",
    "MaxFanOut",
    "MaxHeartbeatInterval",
    "Outcome",
    "RequiredCapability",
    "Rule",
    "Violation",
]

Rule = Annotated[
    ForbiddenEdge
    | AllowedCallers
    | Layers
    | Independence
    | Acyclic
    | MaxFanOut
    | MaxFanIn
    | RequiredCapability
    | MaxHeartbeatInterval
    | LivenessBudget
    | DeclaredCrossGroup
    | Lifecycle,
    Field(discriminator="kind"),
]

_CLASSES: tuple[type[RuleKind], ...] = (
    ForbiddenEdge,
    AllowedCallers,
    Layers,
    Independence,
    Acyclic,
    MaxFanOut,
    MaxFanIn,
    RequiredCapability,
    MaxHeartbeatInterval,
    LivenessBudget,
    DeclaredCrossGroup,
    Lifecycle,
)
#: Rule kind -> its model class, in documentation order.
RULE_CLASSES: dict[str, type[RuleKind]] = {
    get_args(cls.model_fields["kind"].annotation)[0]: cls for cls in _CLASSES
}
#: Rule kinds, in documentation order.
RULE_KINDS: tuple[str, ...] = tuple(RULE_CLASSES)
