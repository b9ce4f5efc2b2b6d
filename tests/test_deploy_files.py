"""Supervisors restart what can pass (exit 1) and stop on what a human must fix (exit 2)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def test_systemd_restarts_on_failure_but_not_on_a_config_error() -> None:
    unit = (ROOT / "deploy" / "watcher.service").read_text(encoding="utf-8")
    settings = dict(re.findall(r"^(\w+)=(.*)$", unit, re.MULTILINE))
    assert settings["Restart"] == "on-failure"
    assert settings["RestartPreventExitStatus"] == "2"


def test_compose_uses_a_restart_policy_that_stops() -> None:
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    policies = re.findall(r"^\s+restart:\s*(\S+)", compose, re.MULTILINE)
    assert len(policies) == 1 and re.fullmatch(r"on-failure:\d+", policies[0]), policies


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pins = [line.split("==") for line in lines if line and not line.startswith("#")]
    assert all(len(pin) == 2 for pin in pins), "every constraint is an exact pin"
    return {canonicalize_name(name): version for name, version in pins}


def test_constraints_pin_every_dependency_within_what_pyproject_allows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pins = _pins()
    for text in wanted:
        requirement = Requirement(text)
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned is not None, f"{requirement.name} is not pinned"
        assert requirement.specifier.contains(pinned), f"{requirement.name}=={pinned}"


def test_the_image_and_ci_install_with_the_constraints() -> None:
    assert "-c constraints.txt" in (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "-c constraints.txt" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_package_carries_the_dashboards_templates_and_static_files() -> None:
    """What the wheel ships besides code is what pyproject's package data names: every
    template and static file of the dashboard must match one of its patterns."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    patterns = tool["setuptools"]["package-data"]["watcher"]
    package = ROOT / "watcher"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    needed = [
        path
        for folder in ("web/templates", "web/static")
        for path in (package / folder).iterdir()
        if path.is_file()
    ]
    assert needed and all(path in shipped for path in needed), sorted(set(needed) - shipped)


def test_ci_installs_the_browser_the_dashboard_test_drives() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get install -y -qq chromium" in ci and "/usr/bin/chromium" in ci
