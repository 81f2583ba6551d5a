"""Name the demo datacenter's services and lay out their declared dependency DAG.

The base catalog holds 40 realistic services in priority order: the first 8 are
enough to play every scripted incident, so a small ``services`` count keeps a
coherent system. Beyond 40, services are numbered copies of base ones
(``orders-api-2``), each attached to one dependant of its template, so the
graph stays a sensible layered DAG at any size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["LAYERS", "ServiceSpec", "catalog"]

#: Layers from the edge inwards; a call to an earlier layer breaks layering.
LAYERS: tuple[str, ...] = ("edge", "api", "worker", "data")

_LAYER_OF_KIND = {
    "web": "edge",
    "gateway": "edge",
    "ingress": "edge",
    "api": "api",
    "worker": "worker",
    "db": "data",
    "cache": "data",
    "queue": "data",
    "search": "data",
}

#: Kinds that are reached through a client span with ``db.system`` (uninstrumented).
DATA_KINDS: frozenset[str] = frozenset({"db", "cache", "search"})


@dataclass
class ServiceSpec:
    """One service of the scenario: identity, placement and declared facts."""

    name: str
    kind: str
    cluster: str
    depends_on: list[str]
    title: str
    sdk: str
    owner: str
    system: str | None = None
    lifecycle: str = "production"
    profile: bool = True
    traced: bool = True
    template: str | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def layer(self) -> str:
        """The service's layer (edge, api, worker, data)."""
        return _LAYER_OF_KIND[self.kind]

    @property
    def web(self) -> bool:
        """Whether the service is a web-facing site with a DOM."""
        return self.kind == "web"


# name, kind, cluster, deps, title, sdk, owner, system
_Row = tuple[str, str, str, tuple[str, ...], str, str, str, str | None]
_BASE: tuple[_Row, ...] = (
    ("shop.example.com", "web", "east", ("api-gateway", "storefront-bff"),
     "Example Shop", "js", "web-team", None),
    ("api-gateway", "gateway", "east",
     ("auth-service", "orders-api", "catalog-api", "cart-api", "users-api", "search-api"),
     "API Gateway", "js", "platform-team", None),
    ("orders-api", "api", "east",
     ("payments-api", "inventory-api", "orders-db", "orders-queue", "session-cache",
      "pricing-api", "shipping-api"),
     "Orders API", "py", "checkout-team", None),
    ("payments-api", "api", "west", ("payments-db", "legacy-billing"),
     "Payments API", "js", "payments-team", None),
    ("storefront-bff", "api", "east", ("catalog-api", "cart-api", "orders-api", "session-cache"),
     "Storefront BFF", "js", "web-team", None),
    ("email-worker", "worker", "west", ("orders-queue", "users-db"),
     "Email Worker", "py", "notifications-team", None),
    ("orders-db", "db", "east", (), "Orders DB", "py", "checkout-team", "postgresql"),
    ("loyalty-api", "api", "west", ("users-db",), "Loyalty API", "py", "growth-team", None),
    ("inventory-api", "api", "east", ("inventory-db", "inventory-cache"),
     "Inventory API", "py", "fulfilment-team", None),
    ("auth-service", "api", "west", ("users-db", "session-cache", "audit-db"),
     "Auth Service", "js", "identity-team", None),
    ("session-cache", "cache", "west", (), "Session Cache", "py", "platform-team", "redis"),
    ("orders-queue", "queue", "east", (), "Orders Queue", "py", "checkout-team", "kafka"),
    ("inventory-db", "db", "east", (), "Inventory DB", "py", "fulfilment-team", "postgresql"),
    ("users-db", "db", "west", (), "Users DB", "py", "identity-team", "postgresql"),
    ("account.example.com", "web", "west", ("edge-ingress",),
     "Example Account", "js", "web-team", None),
    ("edge-ingress", "ingress", "west", ("auth-service", "users-api", "notifications-api"),
     "Edge Ingress", "js", "platform-team", None),
    ("catalog-api", "api", "east",
     ("catalog-db", "catalog-cache", "search-api", "recommendations-api"),
     "Catalog API", "js", "catalog-team", None),
    ("cart-api", "api", "east", ("session-cache", "pricing-api", "inventory-api"),
     "Cart API", "js", "checkout-team", None),
    ("users-api", "api", "west", ("users-db", "auth-service"),
     "Users API", "py", "identity-team", None),
    ("search-api", "api", "east", ("search-index",), "Search API", "py", "catalog-team", None),
    ("report-worker", "worker", "west", ("orders-db", "reports-db"),
     "Report Worker", "py", "data-team", None),
    ("webhook-worker", "worker", "east", ("events-queue", "orders-db"),
     "Webhook Worker", "py", "integrations-team", None),
    ("legacy-billing", "api", "west", ("payments-db",),
     "Legacy Billing", "py", "payments-team", None),
    ("recommendations-api", "api", "east", ("catalog-cache", "catalog-db"),
     "Recommendations API", "py", "growth-team", None),
    ("payments-db", "db", "west", (), "Payments DB", "py", "payments-team", "postgresql"),
    ("catalog-db", "db", "east", (), "Catalog DB", "py", "catalog-team", "mysql"),
    ("catalog-cache", "cache", "east", (), "Catalog Cache", "py", "catalog-team", "redis"),
    ("inventory-cache", "cache", "east", (), "Inventory Cache", "py", "fulfilment-team", "redis"),
    ("search-index", "search", "east", (), "Search Index", "py", "catalog-team", "elasticsearch"),
    ("audit-db", "db", "west", (), "Audit DB", "py", "identity-team", "mongodb"),
    ("thumbnail-worker", "worker", "east", ("catalog-db",),
     "Thumbnail Worker", "py", "catalog-team", None),
    ("pricing-api", "api", "east", ("pricing-cache", "catalog-db"),
     "Pricing API", "js", "checkout-team", None),
    ("pricing-cache", "cache", "east", (), "Pricing Cache", "py", "checkout-team", "redis"),
    ("notifications-api", "api", "west", ("events-queue", "users-db"),
     "Notifications API", "js", "notifications-team", None),
    ("events-queue", "queue", "west", (), "Events Queue", "py", "integrations-team", "rabbitmq"),
    ("shipping-api", "api", "west", ("shipping-db", "shipping-queue"),
     "Shipping API", "py", "fulfilment-team", None),
    ("shipping-worker", "worker", "west", ("shipping-queue", "shipping-db"),
     "Shipping Worker", "py", "fulfilment-team", None),
    ("shipping-queue", "queue", "west", (), "Shipping Queue", "py", "fulfilment-team", "kafka"),
    ("shipping-db", "db", "west", (), "Shipping DB", "py", "fulfilment-team", "postgresql"),
    ("reports-db", "db", "west", (), "Reports DB", "py", "data-team", "postgresql"),
)  # fmt: skip

#: Fixed lifecycles of base services (the rest are production).
_LIFECYCLE = {"legacy-billing": "deprecated", "recommendations-api": "experimental"}
#: Base services that register no profile (undeclared); none of them calls anything traced.
_NO_PROFILE = frozenset({"search-index", "audit-db", "thumbnail-worker"})
#: Base services without tracing instrumentation.
_UNTRACED = frozenset({"thumbnail-worker"})

#: Smallest supported ``services`` count: every scripted role needs a service.
MIN_SERVICES = 8


def _spec(row: _Row, name: str, cluster: str, template: str | None) -> ServiceSpec:
    base, kind, _, deps, title, sdk, owner, system = row
    spec = ServiceSpec(
        name=name,
        kind=kind,
        cluster=cluster,
        depends_on=list(deps),
        title=title if template is None else f"{title} {name.rsplit('-', 1)[1]}",
        sdk=sdk,
        owner=owner,
        system=system,
        lifecycle=_LIFECYCLE.get(base, "production"),
        profile=base not in _NO_PROFILE,
        traced=base not in _UNTRACED and kind not in DATA_KINDS and kind != "queue",
        template=template,
    )
    lang = "nodejs" if sdk == "js" else "python"
    spec.tags = [kind, f"dc-{cluster}", lang] if system is None else [kind, f"dc-{cluster}", system]
    return spec


def catalog(services: int, rng: np.random.Generator) -> list[ServiceSpec]:
    """Return ``services`` services: the base catalog's first ones, then numbered copies.

    Dependencies on services that are not in the selection are dropped; each copy
    is added to the ``depends_on`` of one random dependant of its template (a
    copied queue to one producer and one consumer).

    Parameters
    ----------
    services
        How many services, at least 8.
    rng
        The random stream used to place copies.

    Returns
    -------
    list of ServiceSpec
        In catalog order, base services first.

    Raises
    ------
    ValueError
        If ``services`` is below 8.

    Examples
    --------
    >>> import numpy as np
    >>> specs = catalog(42, np.random.default_rng(0))
    >>> [s.name for s in specs[:3]], specs[-1].name, specs[-1].template
    (['shop.example.com', 'api-gateway', 'orders-api'], 'orders-api-2', 'orders-api')
    """
    if services < MIN_SERVICES:
        raise ValueError(f"services must be at least {MIN_SERVICES}, got {services}")
    base_n = min(services, len(_BASE))
    specs = [_spec(row, row[0], row[2], None) for row in _BASE[:base_n]]
    present = {s.name for s in specs}
    for s in specs:
        s.depends_on = [d for d in s.depends_on if d in present]
    templates = [row for row in _BASE if row[1] != "web" and row[0] != "loyalty-api"]
    by_name = {s.name: s for s in specs}
    dependants: dict[str, list[str]] = {}
    for s in specs:
        for d in s.depends_on:
            dependants.setdefault(d, []).append(s.name)
    for i in range(services - base_n):
        row = templates[i % len(templates)]
        name = f"{row[0]}-{i // len(templates) + 2}"
        cluster = ("east", "west")[int(rng.integers(0, 2))]
        clone = _spec(row, name, cluster, row[0])
        clone.depends_on = [d for d in clone.depends_on if d in present]
        users = dependants.get(row[0], [])
        if row[1] == "queue":
            groups = [
                [u for u in users if by_name[u].kind != "worker"],
                [u for u in users if by_name[u].kind == "worker"],
            ]
        else:
            groups = [users]
        for group in groups:
            if group:
                by_name[group[int(rng.integers(0, len(group)))]].depends_on.append(name)
        specs.append(clone)
    return specs
