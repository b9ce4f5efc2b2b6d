"""A simulated SoundCloud over loopback, a real database file, and engines polling them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.engine_runs import event_types, run_polls
from watcher.clock import FakeClock
from watcher.config import Config, parse
from watcher.http.budget import RequestBudget
from watcher.http.retry import RetryPolicy
from watcher.poll import PollReport
from watcher.runtime import BudgetFactory
from watcher.sim.soundcloud import SoundCloudSim
from watcher.store import Store

CLIENT_ID = "sim-client-id"
CLIENT_SECRET = "sim-client-secret"


@dataclass
class SoundCloudHarness:
    sim: SoundCloudSim
    base_url: str
    db_path: Path
    clock: FakeClock
    watches: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy.immediate(2))
    budget_factory: BudgetFactory | None = None
    timeout: float = 5.0

    def config(self) -> Config:
        return parse(
            {
                "database": str(self.db_path),
                "defaults": {"timeout": self.timeout, "jitter": 0},
                "soundcloud": {
                    "base_url": self.base_url,
                    "token_url": f"{self.base_url}/oauth/token",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "requests_per_second": 10_000,  # the budget has its own tests
                    **self.settings,
                },
                "watch": self.watches,
            }
        )

    def watch(self, account: str = "curator", relation: str = "following") -> None:
        self.watches.append({"platform": "soundcloud", "account": account, "relation": relation})

    def poll(self, index: int = 0) -> PollReport:
        """One poll of watch `index` with a fresh engine, as `watcher once` would do it."""
        return self.poll_all([index])[0]

    def poll_all(self, indexes: list[int] | None = None) -> list[PollReport]:
        reports = run_polls(
            self.config(),
            indexes,
            clock=self.clock,
            retry=self.retry,
            budget_factory=self.budget_factory or RequestBudget,
        )
        self.clock.advance(300)
        return reports

    def store(self) -> Store:
        return Store.open(self.db_path)

    def event_types(self) -> list[tuple[str, str]]:
        return event_types(self.db_path)

    def curator(self, follows: int, prefix: str = "artist") -> tuple[str, list[str]]:
        """An account `curator` following `follows` artists (created in follow order)."""
        artists = self.sim.add_users(follows, prefix=prefix)
        curator = self.sim.add_user("curator", "The Curator")
        self.sim.follow_many(curator, artists)
        return curator, artists
