"""Platforms and notifier kinds are found by name and declare their own sections."""

from __future__ import annotations

import typing

import pytest

from watcher.config import parse
from watcher.platforms import registry as platforms
from watcher.sinks import registry as sinks


@pytest.mark.parametrize("name", sinks.names())
def test_each_notifier_kind_declares_the_type_it_is_found_by(name: str) -> None:
    kind = sinks.kind(name)
    assert kind.name == name
    assert typing.get_args(kind.settings.model_fields["type"].annotation) == (name,)


@pytest.mark.parametrize("name", platforms.BUILTIN)
def test_each_platform_section_is_the_model_its_kind_declares(name: str) -> None:
    kind = platforms.kind(name)
    config = parse({})
    assert kind.name == name
    assert type(config.platform_settings(name)) is kind.settings
    assert set(kind.settings.ENVIRONMENT) <= set(kind.settings.model_fields)


@pytest.mark.parametrize("name", platforms.BUILTIN)
def test_a_platform_secret_kept_in_the_environment_fills_its_section(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = platforms.kind(name).settings.ENVIRONMENT
    for variable in environment.values():
        monkeypatch.setenv(variable, f"from-{variable}")
    section = parse({}).platform_settings(name)
    for key, variable in environment.items():
        assert getattr(section, key) == f"from-{variable}"


def test_a_notifier_of_an_unknown_type_names_every_registered_kind() -> None:
    from watcher.errors import ConfigError

    with pytest.raises(ConfigError) as raised:
        parse({"notifiers": {"x": {"type": "pager"}}})
    for name in sinks.names():
        assert repr(name) in str(raised.value)
