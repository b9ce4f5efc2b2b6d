"""Which signals a watch's poll evaluates: those that count the watch, each as the rule its
kind builds (the one place signals meet a poll, as `sinks/routing.py` is for notifiers)."""

from __future__ import annotations

from watcher.config import Config, Watch
from watcher.signals import registry
from watcher.store import SignalRule


def signal_rules(config: Config, watch: Watch) -> list[SignalRule]:
    found: list[SignalRule] = []
    for settings in config.signal:
        rule = registry.kind(settings.type).rule(settings, config, watch)
        if rule is not None:
            found.append(rule)
    return found
