"""Kinds found by name: notifier kinds, signal kinds. Each built-in kind is a light module
declaring `KIND`, imported the first time it is named, so a new kind is a new module and
one line in its registry, never a new branch elsewhere."""

from __future__ import annotations

import importlib
from typing import Any, Generic, Protocol, TypeVar


class Declared(Protocol):
    @property
    def settings(self) -> Any: ...


K = TypeVar("K", bound=Declared)


class Registry(Generic[K]):
    """The kinds of one family, by the name a config's `type = ...` gives them."""

    def __init__(self, builtin: dict[str, str]) -> None:
        self.builtin = builtin
        self._found: dict[str, K] = {}

    def names(self) -> list[str]:
        """The kinds a `type = ...` may name, in the order errors list them."""
        return list(self.builtin)

    def kind(self, name: str) -> K:
        """The kind `name` declares (its module's `KIND`); KeyError for an unknown one."""
        found = self._found.get(name)
        if found is None:
            found = self._found[name] = importlib.import_module(self.builtin[name]).KIND
        return found

    def settings_union(self) -> Any:
        """Every kind's settings model as one union, for pydantic to pick from by `type`."""
        models = [self.kind(name).settings for name in self.names()]
        union = models[0]
        for model in models[1:]:
            union = union | model
        return union
