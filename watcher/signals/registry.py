"""Signal kinds by name, so a new kind is a new module, not new branches elsewhere (like
`sinks/registry.py`). Kind modules are light: their rule and message import what they need
when they run."""

from __future__ import annotations

import functools
import importlib
from typing import Any

from watcher.signals.kind import SignalKind

BUILTIN = {"trending": "watcher.signals.trending_kind"}


def names() -> list[str]:
    return list(BUILTIN)


@functools.cache
def kind(name: str) -> SignalKind:
    """The kind `name` declares (its module's `KIND`); KeyError for an unknown one."""
    found: SignalKind = importlib.import_module(BUILTIN[name]).KIND
    return found


def settings_union() -> Any:
    """Every kind's settings model as one union, for pydantic to pick from by `type`."""
    models = [kind(name).settings for name in names()]
    union = models[0]
    for model in models[1:]:
        union = union | model  # type: ignore[assignment]
    return union


def event_types() -> tuple[str, ...]:
    return tuple(kind(name).event_type for name in names())


def of_event(type_: str) -> SignalKind | None:
    """The kind that records events of `type_` (None: not a signal's)."""
    for name in names():
        if kind(name).event_type == type_:
            return kind(name)
    return None
