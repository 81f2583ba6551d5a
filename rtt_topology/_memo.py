"""Reuse intermediate results while one caller runs many analyses on one table.

The report (and the metrics collector) run liveness, cadence, drift, coherence,
readiness and incidents on the same beacon table; each of them derives the same
periods, restarts and liveness segments again. Inside ``with reuse():`` the
functions decorated with :func:`memoized` compute a result once per argument
set and hand it back to later callers; outside such a block they compute as
always, so a library user never sees stale results.

Arguments are keyed by value when hashable and by identity otherwise (tables,
arrays, mappings of profiles, graphs). An identity key holds a weak reference
where the object allows one, so a table freed inside the block cannot be
mistaken for a new one that reuses its address; objects without weak
references (dicts, lists) are held until the block ends. Tables must not be
changed in place inside the block, which the callers guarantee.

Results that callers may change (pandas objects, numpy arrays) are handed out
as copies when the decorator says ``copy=True``.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd

__all__ = ["memoized", "reuse"]

P = ParamSpec("P")
R = TypeVar("R")

_Entry = tuple[tuple[Any, ...], Any]
_CACHE: ContextVar[dict[Hashable, _Entry] | None] = ContextVar("rtt_topology_memo", default=None)


@contextmanager
def reuse() -> Iterator[None]:
    """Share the results of memoized functions until the block ends.

    Nested blocks share the outermost cache.

    Examples
    --------
    >>> from rtt_topology.columns import empty_beacon_frame
    >>> from rtt_topology.aggregate.history import periods
    >>> table = empty_beacon_frame()
    >>> with reuse():
    ...     periods(table).equals(periods(table))
    True
    """
    if _CACHE.get() is not None:
        yield
        return
    token = _CACHE.set({})
    try:
        yield
    finally:
        _CACHE.reset(token)


def _part(value: Any) -> tuple[Hashable, Any]:
    """Return the key of one argument, and what proves an identity key still holds."""
    if isinstance(value, pd.DataFrame | pd.Series | pd.Index | np.ndarray):
        hashable = False
    else:
        try:
            hash(value)
            hashable = True
        except TypeError:
            hashable = False
    if hashable:
        return ("value", type(value).__name__, value), None
    try:
        held: Any = weakref.ref(value)
    except TypeError:
        held = value
    return ("id", id(value)), held


def _alive(holders: tuple[Any, ...], args: tuple[Any, ...]) -> bool:
    for held, value in zip(holders, args, strict=True):
        if held is None:
            continue
        current = held() if isinstance(held, weakref.ref) else held
        if current is not value:
            return False
    return True


def _copied(result: Any) -> Any:
    if isinstance(result, pd.DataFrame | pd.Series):
        return result.copy(deep=True)
    if isinstance(result, np.ndarray):
        return result.copy()
    return result


def memoized(*, copy: bool) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function whose result may be shared inside :func:`reuse`.

    Parameters
    ----------
    copy
        Hand out copies of pandas and numpy results (for public functions whose
        callers may change what they get).
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        name = f"{function.__module__}.{function.__qualname__}"
        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            cache = _CACHE.get()
            if cache is None:
                return function(*args, **kwargs)
            # Key by parameter name with defaults filled in: f(t), f(t, x=1) and
            # f(table=t) are one call when 1 is the default of x.
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            names = tuple(bound.arguments)
            values = tuple(bound.arguments.values())
            parts = [_part(v) for v in values]
            key = (name, names, tuple(p[0] for p in parts))
            holders = tuple(p[1] for p in parts)
            entry = cache.get(key)
            if entry is not None and _alive(entry[0], values):
                result: R = entry[1]
            else:
                result = function(*args, **kwargs)
                cache[key] = (holders, result)
            return _copied(result) if copy else result

        return wrapper

    return decorate
