"""Supervisors restart what can pass (exit 1) and stop on what a human must fix (exit 2)."""

from __future__ import annotations

import re
from pathlib import Path

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
