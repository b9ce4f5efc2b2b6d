"""Shared pieces of the delivery tests: the simulated Audius, a real database file, notifiers
pointing at loopback receivers, and a dispatcher driven by a fake clock (no sleeping)."""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook

from tests.conftest import Harness
from tests.engine_runs import run_polls
from tests.receiver import Check, Recorded
from watcher.clock import FakeClock
from watcher.config import Config, parse
from watcher.http.client import open_client
from watcher.http.retry import RetryPolicy
from watcher.poll import PollReport
from watcher.retry import DeliverySchedule
from watcher.sinks.apprise_sink import ServiceLimits
from watcher.sinks.dispatcher import Dispatcher, DispatchReport
from watcher.store import DeliveryRow, Store

# The secret of the Standard Webhooks specification's published test vector.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The delivery schedule without jitter, so a test knows each wait to the second.
SCHEDULE = DeliverySchedule(jitter=0.0)
# Built once: loading the CA bundle for every dispatch would dominate these tests' run time.
TLS = ssl.create_default_context()


def verified_by(secret: str = SECRET) -> Check:
    """A receiver check doing what a real consumer does: the reference library's verify."""

    def check(request: Recorded) -> None:
        Webhook(secret).verify(request.text, request.headers)

    return check


@dataclass
class OutboxHarness(Harness):
    """The Audius harness plus notifiers, with a clock that moves only when a test says so.

    The clock starts at the real now because receivers verify `webhook-timestamp` against
    their own clock (five minutes' tolerance).
    """

    notifiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The clock stands still between polls here, so an absence needs no time to settle.
    defaults: dict[str, Any] = field(default_factory=lambda: {"confirm_after": 0})

    @classmethod
    def around(cls, harness: Harness) -> OutboxHarness:
        return cls(
            harness.sim,
            harness.base_url,
            harness.db_path,
            FakeClock(datetime.now(UTC).replace(microsecond=0)),
            [],
        )

    def raw(self) -> dict[str, Any]:
        return {
            "database": str(self.db_path),
            "defaults": {"timeout": self.timeout, "jitter": 0, **self.defaults},
            "audius": {"base_url": self.base_url},
            "notifiers": self.notifiers,
            "watch": self.watches,
        }

    def config(self) -> Config:
        return parse(self.raw())

    def write_config(self, path: Path) -> Path:
        """The same configuration as a TOML file, for the `watcher` command."""
        raw = self.raw()
        lines = [f"database = {_toml(raw['database'])}"]
        for table in ("defaults", "audius"):
            lines += [f"[{table}]", *(f"{k} = {_toml(v)}" for k, v in raw[table].items())]
        for name, notifier in raw["notifiers"].items():
            lines += [f"[notifiers.{name}]", *(f"{k} = {_toml(v)}" for k, v in notifier.items())]
        for watch in raw["watch"]:
            lines += ["[[watch]]", *(f"{k} = {_toml(v)}" for k, v in watch.items())]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def watch(self, account: str = "curator", *notify: str, relation: str = "following") -> None:
        self.watches.append(
            {"platform": "audius", "account": account, "relation": relation, "notify": notify}
        )

    def webhook(self, name: str, url: str, **extra: Any) -> None:
        self.notifiers[name] = {"type": "webhook", "url": url, "secret": SECRET, **extra}

    def apprise(self, name: str, *urls: str, **extra: Any) -> None:
        self.notifiers[name] = {"type": "apprise", "urls": list(urls), **extra}

    def poll(self, index: int = 0) -> PollReport:
        """One poll, as `watcher once` does it; the clock stays where it is."""
        (report,) = run_polls(
            self.config(),
            [index],
            clock=self.clock,
            retry=RetryPolicy.immediate(2),
            transport=httpx.AsyncHTTPTransport(verify=TLS),
        )
        return report

    def dispatch(self, *, apprise_limits: ServiceLimits | None = None) -> DispatchReport:
        """One dispatch of everything due now, as `watcher once` does after its polls."""
        config = self.config()
        store = Store.open(config.database_path)

        async def go() -> DispatchReport:
            async with open_client(timeout=30, headers={}, verify=TLS) as http:
                dispatcher = Dispatcher(
                    config,
                    store,
                    clock=self.clock,
                    schedule=SCHEDULE,
                    http=http,
                    throttle=False,
                    apprise_limits=apprise_limits,
                )
                try:
                    return await dispatcher.dispatch()
                finally:
                    await dispatcher.aclose()

        try:
            return asyncio.run(go())
        finally:
            store.close()

    def deliveries(self, show: str = "all") -> list[DeliveryRow]:
        store = self.store()
        try:
            return store.deliveries(show=show, limit=1000)
        finally:
            store.close()


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def curator_following(harness: OutboxHarness, count: int = 20) -> tuple[str, list[str]]:
    """A curator following `count` of 40 artists (ties in follower counts, as in real life)."""
    sim = harness.sim
    artists = sim.add_users(40, prefix="artist", base_followers=lambda i: i % 3)
    curator = sim.add_user(handle="curator", name="Curator", base_followers=10)
    sim.follow_many(curator, artists[:count])
    return curator, artists
