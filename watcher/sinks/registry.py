"""Notifier kinds by name, so a new kind is a new module, not new branches elsewhere.

Like `platforms/registry.py`: the built-in kinds are known by the module that declares each.
Those modules are light (pydantic models and a class); each imports its sending library only
when it sends, so validating a config never loads Apprise or the HTTP stack.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from watcher.sinks.sink import NotifierSettings, Sink, SinkContext, SinkKind

BUILTIN = {"apprise": "watcher.sinks.apprise_kind", "webhook": "watcher.sinks.webhook_kind"}


def names() -> list[str]:
    """The kinds a `type = ...` may name, in the order errors list them."""
    return list(BUILTIN)


@functools.cache
def kind(name: str) -> SinkKind:
    """The kind `name` declares (its module's `KIND`); KeyError for an unknown one."""
    found: SinkKind = importlib.import_module(BUILTIN[name]).KIND
    return found


def settings_union() -> Any:
    """Every kind's settings model as one union, for pydantic to pick from by `type`."""
    models = [kind(name).settings for name in names()]
    union = models[0]
    for model in models[1:]:
        union = union | model  # type: ignore[assignment]
    return union


def open_sink(name: str, settings: NotifierSettings, context: SinkContext) -> Sink:
    """Notifier `name`'s sink, of the kind its settings name."""
    return kind(settings.type).open(name, settings, context)
