"""The one test world: a simulated platform over loopback, a real database file, a fake clock,
notifiers pointing at loopback receivers, and the config that joins them. It polls and
dispatches as `watcher once` does (a fresh store and engine each time), and writes the same
config as a TOML file for the tests that run the `watcher` command itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
from standardwebhooks import Webhook

from tests.receiver import Check, Recorded
from watcher.clock import FakeClock
from watcher.config import Config, parse
from watcher.http.client import open_client
from watcher.http.retry import RetryPolicy
from watcher.poll import PollReport
from watcher.retry import DeliverySchedule
from watcher.runtime import Runtime
from watcher.scheduler import Daemon
from watcher.sim.audius import AudiusSim
from watcher.sim.soundcloud import SoundCloudSim
from watcher.sinks.apprise_sink import ServiceLimits
from watcher.sinks.dispatcher import Dispatcher, DispatchReport
from watcher.sinks.sink import SinkOptions
from watcher.store import DeliveryRow, Store

S = TypeVar("S", AudiusSim, SoundCloudSim)

CLIENT_ID = "sim-client-id"
CLIENT_SECRET = "sim-client-secret"
# The secret of the Standard Webhooks specification's published test vector.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The delivery schedule without jitter, so a test knows each wait to the second.
SCHEDULE = DeliverySchedule(jitter=0.0)
# Built once: loading the CA bundle for every dispatch would dominate the delivery tests' time.
TLS = ssl.create_default_context()


def verified_by(secret: str = SECRET) -> Check:
    """A receiver check doing what a real consumer does: the reference library's verify."""

    def check(request: Recorded) -> None:
        Webhook(secret).verify(request.text, request.headers)

    return check


class VirtualTime:
    """Monotonic time that only moves when someone sleeps: budgets run without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class World(Generic[S]):
    """Everything one test polls and delivers with; tests change the fields, then poll."""

    sim: S
    base_url: str
    db_path: Path
    clock: FakeClock = field(default_factory=FakeClock)
    watches: list[dict[str, Any]] = field(default_factory=list)
    notifiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # [[signal]] tables.
    signals: list[dict[str, Any]] = field(default_factory=list)
    # Keys of [defaults] besides the timeout (and jitter, always off).
    defaults: dict[str, Any] = field(default_factory=dict)
    # Keys of the platform's section besides where to reach the simulator; unthrottled by
    # default (the budget has its own tests).
    settings: dict[str, Any] = field(default_factory=lambda: {"requests_per_second": 10_000})
    # Other top-level tables, such as [http] or [log].
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeout: float = 5.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy.immediate(2))
    # Further Runtime keywords: members_in_memory, budget_factory, transport, holder...
    engine: dict[str, Any] = field(default_factory=dict)
    # How far the clock moves after each poll: past `confirm_after`, as between real polls.
    settle: float = 300.0

    @classmethod
    def for_deliveries(cls, sim: S, base_url: str, db_path: Path) -> World[S]:
        """A world whose clock starts at the real now and stands still between polls.

        Receivers verify `webhook-timestamp` against their own clock (five minutes'
        tolerance); with the clock standing still an absence needs no time to settle.
        """
        return cls(
            sim,
            base_url,
            db_path,
            FakeClock(datetime.now(UTC).replace(microsecond=0)),
            defaults={"confirm_after": 0},
            settings={},
            engine={"transport": httpx.AsyncHTTPTransport(verify=TLS)},
            settle=0.0,
        )

    # -- the simulated platform ---------------------------------------------------------------

    @property
    def platform(self) -> str:
        return "audius" if isinstance(self.sim, AudiusSim) else "soundcloud"

    def handle(self, user: str) -> str:
        """The handle an event names `user` by on this platform."""
        if isinstance(self.sim, AudiusSim):
            return self.sim.user(user).handle
        return self.sim.user(user).permalink

    def curator(self, follows: int, prefix: str = "artist") -> tuple[str, list[str]]:
        """An account `curator` following `follows` new artists (created in follow order)."""
        artists = self.sim.add_users(follows, prefix=prefix)
        curator = self.sim.add_user("curator", "The Curator")
        self.sim.follow_many(curator, artists)
        return curator, artists

    # -- the config ---------------------------------------------------------------------------

    def watch(self, account: str = "curator", *notify: str, relation: str = "following") -> None:
        watch: dict[str, Any] = {"platform": self.platform, "account": account}
        if relation != "following":
            watch["relation"] = relation
        if notify:
            watch["notify"] = list(notify)
        self.watches.append(watch)

    def webhook(self, name: str, url: str, **extra: Any) -> None:
        self.notifiers[name] = {"type": "webhook", "url": url, "secret": SECRET, **extra}

    def apprise(self, name: str, *urls: str, **extra: Any) -> None:
        self.notifiers[name] = {"type": "apprise", "urls": list(urls), **extra}

    def signal(self, name: str = "scouting", *notify: str, **keys: Any) -> None:
        """A trending [[signal]] (`keys`: min_accounts, window, watches, filters...)."""
        self.signals.append({"name": name, "type": "trending", "notify": list(notify), **keys})

    def raw(self, database: str | None = None) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "database": database or str(self.db_path),
            "defaults": {"timeout": self.timeout, "jitter": 0, **self.defaults},
            **self.tables,
            self.platform: {**self._reach(), **self.settings},
            "watch": self.watches,
        }
        if self.notifiers:
            raw["notifiers"] = self.notifiers
        if self.signals:
            raw["signal"] = self.signals
        return raw

    def _reach(self) -> dict[str, Any]:
        if self.platform == "audius":
            return {"base_url": self.base_url}
        return {
            "base_url": self.base_url,
            "token_url": f"{self.base_url}/oauth/token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }

    def config(self) -> Config:
        return parse(self.raw())

    def write_config(self, path: Path, *, database: str | None = None) -> Path:
        """The same configuration as a TOML file, for the `watcher` command; `database` as
        written in the file (relative to it) instead of this world's absolute path."""
        path.write_text(toml(self.raw(database)), encoding="utf-8")
        return path

    # -- polling and delivering, as `watcher once` does ---------------------------------------

    def poll(self, index: int = 0) -> PollReport:
        """One poll of watch `index` with a fresh store and engine."""
        return self.poll_all([index])[0]

    def poll_all(self, indexes: list[int] | None = None) -> list[PollReport]:
        reports = run_polls(
            self.config(), indexes, clock=self.clock, retry=self.retry, **self.engine
        )
        self.clock.advance(self.settle)
        return reports

    def dispatch(self, *, apprise_limits: ServiceLimits | None = None) -> DispatchReport:
        """One dispatch of everything due now, as `watcher once` does after its polls."""
        config = self.config()
        store = Store.open(config.database_path)
        limits = SinkOptions(throttle=False, limits=apprise_limits)
        try:
            return asyncio.run(dispatch_due(config, store, self.clock, options=limits))
        finally:
            store.close()

    @contextlib.asynccontextmanager
    async def daemon(self, schedule: DeliverySchedule = SCHEDULE) -> AsyncIterator[Daemon]:
        """A `watcher run` daemon on this world (real time, no signal handlers), running
        while the block runs; then stopped as SIGTERM stops it: the sends in flight finish
        and are marked."""
        config = self.config()
        store = Store.open(config.database_path)
        runtime = Runtime(config, store, retry=self.retry)
        runtime.open_dispatcher(schedule=schedule, options=SinkOptions(throttle=False))
        daemon = Daemon(runtime)
        running = asyncio.create_task(daemon.run(install_signals=False))
        try:
            yield daemon
            daemon.stop()
            await asyncio.wait_for(running, timeout=5)
        finally:
            await runtime.aclose()
            store.close()

    # -- what was recorded --------------------------------------------------------------------

    def store(self) -> Store:
        return Store.open(self.db_path)

    def event_types(self) -> list[tuple[str, str]]:
        return event_types(self.db_path)

    def deliveries(self, show: str = "all") -> list[DeliveryRow]:
        store = self.store()
        try:
            return store.outbox.recent(show=show, limit=1000)
        finally:
            store.close()


async def dispatch_due(
    config: Config,
    store: Store,
    clock: FakeClock,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    **dispatcher: Any,
) -> DispatchReport:
    """Send every delivery due at `clock`'s time (until `should_stop`), with the schedule
    known to the second and no pauses between parts; `dispatcher` holds further Dispatcher
    keywords."""
    dispatcher.setdefault("options", SinkOptions(throttle=False))
    async with open_client(timeout=30, headers={}, verify=TLS) as http:
        sending = Dispatcher(config, store, clock=clock, schedule=SCHEDULE, http=http, **dispatcher)
        try:
            return await sending.dispatch(should_stop)
        finally:
            await sending.aclose()


def run_polls(config: Config, indexes: list[int] | None = None, **engine: Any) -> list[PollReport]:
    """Poll the watches at `indexes` (all when None) with a fresh store and engine; `engine`
    holds Runtime keywords (clock, retry, transport...)."""
    store = Store.open(config.database_path)

    async def go() -> list[PollReport]:
        polls = Runtime(config, store, **engine)
        try:
            chosen = [config.watch[i] for i in indexes] if indexes is not None else None
            return await polls.poll_all(chosen)
        finally:
            await polls.aclose()

    try:
        return asyncio.run(go())
    finally:
        store.close()


def event_types(db_path: Path) -> list[tuple[str, str]]:
    """(event type, target handle) of every stored event, oldest first."""
    store = Store.open(db_path)
    try:
        return [
            (row.type, row.envelope()["data"]["target"]["handle"]) for row in store.events.find()
        ]
    finally:
        store.close()


def config_file(
    folder: Path,
    base_url: str,
    *accounts: str,
    database: str = "watcher.db",
    defaults: dict[str, Any] | None = None,
    audius: dict[str, Any] | None = None,
    tables: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """`folder/watcher.toml` watching `accounts` (curator when none) on the simulated Audius
    at `base_url`, for the tests that run the `watcher` command: a 5 s timeout, no monthly
    quota (a 2 s interval would spend the free plan's; the planner has its own tests) and
    whatever `defaults`, `audius` and other `tables` add."""
    raw: dict[str, Any] = {
        "database": database,
        "defaults": {"timeout": "5s", **(defaults or {})},
        **(tables or {}),
        "audius": {"base_url": base_url, "requests_per_month": 0, **(audius or {})},
        "watch": [{"platform": "audius", "account": a} for a in accounts or ("curator",)],
    }
    path = folder / "watcher.toml"
    path.write_text(toml(raw), encoding="utf-8")
    return path


def toml(raw: dict[str, Any]) -> str:
    """`raw` (scalars, tables, tables of tables and the [[watch]] array) as a TOML document."""
    lines = [f"{key} = {_value(value)}" for key, value in raw.items() if not _table(value)]
    for key, value in raw.items():
        if key in ("watch", "signal"):
            for entry in value:
                lines += ["", f"[[{key}]]", *(f"{k} = {_value(v)}" for k, v in entry.items())]
        elif key == "notifiers":
            for name, notifier in value.items():
                lines += ["", f"[notifiers.{name}]"]
                lines += [f"{k} = {_value(v)}" for k, v in notifier.items()]
        elif _table(value):
            lines += ["", f"[{key}]", *(f"{k} = {_value(v)}" for k, v in value.items())]
    return "\n".join(lines) + "\n"


def _table(value: Any) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and isinstance(value[0], dict)
    )


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def curator_following(world: AudiusWorld, count: int = 20) -> tuple[str, list[str]]:
    """On Audius, a curator following `count` of 40 artists (ties in follower counts, as in
    real life)."""
    sim = world.sim
    artists = sim.add_users(40, prefix="artist", base_followers=lambda i: i % 3)
    curator = sim.add_user(handle="curator", name="Curator", base_followers=10)
    sim.follow_many(curator, artists[:count])
    return curator, artists


AudiusWorld = World[AudiusSim]
SoundCloudWorld = World[SoundCloudSim]


def tastemakers(world: World[Any], count: int, *notify: str) -> list[str]:
    """`count` watched accounts (`taste1`, ...) each following a few accounts of their own,
    their baselines taken: what they follow next makes events (and perhaps signals)."""
    users = []
    for number in range(1, count + 1):
        user = world.sim.add_user(f"taste{number}", f"Tastemaker {number}")
        world.sim.follow_many(user, world.sim.add_users(3, prefix=f"own{number}"))
        world.watch(f"taste{number}", *notify)
        users.append(user)
    world.poll_all()
    return users


def one_event_pending(world: AudiusWorld, *notify: str) -> tuple[str, list[str]]:
    """The curator watched for `notify`, its baseline taken, then one follow (of artist 35)
    polled: one event waits for each notifier. Returns the curator and the 40 artists."""
    world.watch("curator", *notify)
    curator, artists = curator_following(world)
    world.poll()
    world.sim.follow(curator, artists[35])
    world.poll()
    return curator, artists
