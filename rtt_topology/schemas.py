"""Validate single RTT records: beacons, their structure snapshot, and profiles.

These pydantic models are the contract of one record. Bulk loading does not call
them per record (see :mod:`rtt_topology.load`), but it applies the same rules, and
the test suite checks that both accept and reject the same records.

Beacon rules
    ``site`` and ``event`` are non-empty strings (any event name is accepted),
    ``session`` a string, ``ts`` an ISO 8601 timestamp with a UTC offset
    (normalised to UTC; a naive timestamp is rejected unless the validation
    context carries ``{"assume_utc": True}``), ``structure`` an optional object
    whose five counts are optional non-negative integers (a missing count is
    ``None``, never 0). Types are strict: ``"7"`` or ``7.0`` is not a count.
    Unknown keys are kept, at the top level and inside ``structure``.

Profile rules
    ``rtt_version`` (also read from ``version``) and a list ``supports`` are
    required, as upstream; ``contact`` is optional. Our optional extensions are
    ``depends_on``, ``heartbeat_interval_s``, ``layer`` (also read from ``tier``),
    ``owner``, ``lifecycle`` and ``tags``. Unknown keys are kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
)

from rtt_topology._timestamps import NAIVE_REASON, parse_ts_scalar

__all__ = [
    "COUNT_FIELDS",
    "KNOWN_EVENTS",
    "KNOWN_LIFECYCLES",
    "KNOWN_SUPPORTS",
    "Beacon",
    "Profile",
    "Structure",
]

#: The five structure counts, in upstream order.
COUNT_FIELDS: tuple[str, ...] = (
    "nav_count",
    "main_count",
    "form_count",
    "button_count",
    "dom_nodes",
)

#: Event names seen upstream, plus ours (``startup``, ``shutdown``,
#: ``config_change``, ``deploy_start``, ``deploy_finish``). Other names are valid.
KNOWN_EVENTS: frozenset[str] = frozenset(
    {
        "heartbeat",
        "cluster_heartbeat",
        "page_load",
        "page_hidden",
        "page_visible",
        "manual_ping",
        "user_action",
        "nav",
        "page_inspect",
        "startup",
        "shutdown",
        "config_change",
        "deploy_start",
        "deploy_finish",
    }
)

#: ``supports`` values named upstream. Other values are valid.
KNOWN_SUPPORTS: frozenset[str] = frozenset({"coherence", "drift", "corridor"})

#: ``lifecycle`` values with a meaning in rule checks (ours, after Backstage).
KNOWN_LIFECYCLES: frozenset[str] = frozenset({"production", "experimental", "deprecated"})

_INT64_MAX = 2**63 - 1
Count = Annotated[int, Field(ge=0, le=_INT64_MAX)]


class Structure(BaseModel):
    """The structure snapshot a beacon carries.

    Backends send zeros and an ``internal://`` URL; websites send DOM counts.
    Every field is optional: a missing count is ``None``, not 0.

    Examples
    --------
    >>> Structure(url="internal://auth", dom_nodes=0).nav_count is None
    True
    """

    model_config = ConfigDict(extra="allow", strict=True)

    url: str | None = None
    title: str | None = None
    nav_count: Count | None = None
    main_count: Count | None = None
    form_count: Count | None = None
    button_count: Count | None = None
    dom_nodes: Count | None = None


class Beacon(BaseModel):
    """One heartbeat event sent by a service, site or cluster.

    Examples
    --------
    >>> b = Beacon.model_validate(
    ...     {"site": "auth-service", "session": "srv-12345", "event": "heartbeat",
    ...      "ts": "2026-01-19T17:00:00.250+02:00", "region": "eu"}
    ... )
    >>> b.ts.isoformat()
    '2026-01-19T15:00:00.250000+00:00'
    >>> b.model_extra
    {'region': 'eu'}
    >>> Beacon.model_validate(
    ...     {"site": "a", "session": "s", "event": "heartbeat", "ts": "2026-01-19T15:00:00"}
    ... )
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for Beacon
    ts
      Value error, naive timestamp (no UTC offset); ...
    """

    model_config = ConfigDict(extra="allow", strict=True)

    site: Annotated[str, Field(min_length=1)]
    session: str
    event: Annotated[str, Field(min_length=1)]
    ts: datetime
    structure: Structure | None = None
    received_at: datetime | None = Field(
        default=None,
        description=(
            "Set by the server that stored the beacon: its UTC clock at acceptance "
            "(same timestamp rules as ts). A beacon posted with it is refused."
        ),
    )

    @field_validator("ts", "received_at", mode="before")
    @classmethod
    def _parse_ts(cls, value: Any, info: ValidationInfo) -> Any:
        assume_utc = bool(info.context and info.context.get("assume_utc"))
        if isinstance(value, str):
            return parse_ts_scalar(value, assume_utc=assume_utc)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                if not assume_utc:
                    raise ValueError(NAIVE_REASON)
                return value.replace(tzinfo=UTC)
            return value.astimezone(UTC)
        return value

    @model_serializer(mode="wrap")
    def _omit_absent_receipt(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A beacon as sent has no receipt time: dumping it gives the beacon as sent.
        data = handler(self)
        if self.received_at is None:
            data.pop("received_at", None)
        return data  # type: ignore[no-any-return]


class Profile(BaseModel):
    """What a site or service declares about itself.

    ``rtt_version``, ``supports`` and ``contact`` are upstream's; the other fields
    are rtt-topology extensions, all optional.

    Examples
    --------
    >>> p = Profile.model_validate(
    ...     {"version": "1.0", "supports": ["drift"], "depends_on": ["db"], "tier": "api"}
    ... )
    >>> (p.rtt_version, p.layer, p.depends_on)
    ('1.0', 'api', ['db'])
    >>> p.to_dict()
    {'rtt_version': '1.0', 'supports': ['drift'], 'depends_on': ['db'], 'layer': 'api'}
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    rtt_version: str = Field(validation_alias=AliasChoices("rtt_version", "version"))
    supports: list[str]
    contact: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    heartbeat_interval_s: float | None = Field(default=None, gt=0)
    layer: str | None = Field(default=None, validation_alias=AliasChoices("layer", "tier"))
    owner: str | None = None
    lifecycle: str | None = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("rtt_version", "layer", mode="before")
    @classmethod
    def _number_to_text(cls, value: Any) -> Any:
        # YAML reads `rtt_version: 1.0` and `layer: 2` as numbers.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("supports", "depends_on", "tags", mode="before")
    @classmethod
    def _no_bare_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError("expected a list of strings, got one string")
        return value

    def to_dict(self) -> dict[str, Any]:
        """Return the profile as a JSON-ready dict with the upstream key names.

        Optional fields that were never set are left out; unknown keys are kept.

        Returns
        -------
        dict
            Starts with ``rtt_version`` and ``supports``.
        """
        out: dict[str, Any] = self.model_dump(mode="json", exclude_unset=True)
        out["rtt_version"] = self.rtt_version
        out["supports"] = list(self.supports)
        head = {"rtt_version": out.pop("rtt_version"), "supports": out.pop("supports")}
        return head | out
