"""Signal kinds by name, so a new kind is a new module, not new branches elsewhere (like
`sinks/registry.py`). Kind modules are light: their rule and message import what they need
when they run."""

from __future__ import annotations

from typing import Any

from watcher.kinds import Registry
from watcher.signals.kind import SignalKind

BUILTIN = {"trending": "watcher.signals.trending_kind"}
_KINDS: Registry[SignalKind] = Registry(BUILTIN)
names, kind = _KINDS.names, _KINDS.kind


def settings_union() -> Any:
    """Every kind's settings model as one union, for pydantic to pick from by `type`."""
    return _KINDS.settings_union()


def event_types() -> tuple[str, ...]:
    return tuple(kind(name).event_type for name in names())


def of_event(type_: str) -> SignalKind | None:
    """The kind that records events of `type_` (None: not a signal's)."""
    for name in names():
        if kind(name).event_type == type_:
            return kind(name)
    return None
