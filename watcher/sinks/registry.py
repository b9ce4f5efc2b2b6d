"""Notifier kinds by name, so a new kind is a new module, not new branches elsewhere.

Like `platforms/registry.py`: the built-in kinds are known by the module that declares each.
Those modules are light (pydantic models and a class); each imports its sending library only
when it sends, so validating a config never loads Apprise or the HTTP stack.
"""

from __future__ import annotations

from typing import Any

from watcher.kinds import Registry
from watcher.sinks.sink import NotifierSettings, Sink, SinkContext, SinkKind

BUILTIN = {"apprise": "watcher.sinks.apprise_kind", "webhook": "watcher.sinks.webhook_kind"}
_KINDS: Registry[SinkKind] = Registry(BUILTIN)
names, kind = _KINDS.names, _KINDS.kind


def settings_union() -> Any:
    """Every kind's settings model as one union, for pydantic to pick from by `type`."""
    return _KINDS.settings_union()


def open_sink(name: str, settings: NotifierSettings, context: SinkContext) -> Sink:
    """Notifier `name`'s sink, of the kind its settings name."""
    return kind(settings.type).open(name, settings, context)
