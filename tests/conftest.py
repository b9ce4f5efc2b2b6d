from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.engine_runs import event_types, run_polls
from watcher.clock import FakeClock
from watcher.config import Config, parse
from watcher.http.retry import RetryPolicy
from watcher.poll import PollReport
from watcher.sim.audius import AudiusSim
from watcher.store import Store


@dataclass
class Harness:
    """A simulated Audius over loopback, a real database file, and an engine polling them."""

    sim: AudiusSim
    base_url: str
    db_path: Path
    clock: FakeClock
    watches: list[dict[str, Any]]
    timeout: float = 5.0
    # Listings longer than this go to a temporary table; 0 puts every listing there.
    members_in_memory: int = 50_000

    def config(self) -> Config:
        return parse(
            {
                "database": str(self.db_path),
                "defaults": {"timeout": self.timeout, "jitter": 0},
                # Unthrottled: the budget has its own tests (test_budget.py).
                "audius": {"base_url": self.base_url, "requests_per_second": 10_000},
                "watch": self.watches,
            }
        )

    def poll(self, index: int = 0) -> PollReport:
        """One poll of watch `index` with a fresh engine, as `watcher once` would do it."""
        (report,) = run_polls(
            self.config(),
            [index],
            clock=self.clock,
            retry=RetryPolicy.immediate(2),
            members_in_memory=self.members_in_memory,
        )
        self.clock.advance(300)
        return report

    def store(self) -> Store:
        return Store.open(self.db_path)

    def event_types(self) -> list[tuple[str, str]]:
        return event_types(self.db_path)


@pytest.fixture
def sim() -> AudiusSim:
    return AudiusSim(seed=11, replicas=3)


@pytest.fixture(params=["in-memory", "in-table"])
def harness(sim: AudiusSim, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Harness]:
    """Every end-to-end test runs twice: listings held in a dict, and in a scratch table (the
    path lists past 50,000 entries take)."""
    with sim.serve() as base_url:
        harness = Harness(sim, base_url, tmp_path / "watcher.db", FakeClock(), [])
        harness.members_in_memory = 50_000 if request.param == "in-memory" else 0
        yield harness
