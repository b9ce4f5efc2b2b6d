"""`watcher demo`: the whole product against the simulated APIs, with live churn, no network.

A newcomer should see what watcher is for, not only that it polls: the simulators run with
their harsh modes on, so the pages hide and repeat accounts and the narration says when
watcher repaired them; every event goes through the real outbox to a chat receiver (printed as
Discord shows it) and to a webhook receiver that verifies the signature. The config and
database are ordinary files (kept with `--keep DIR`), so `watcher events` and `status` can
follow up on what the demo did.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from watcher.config import Config, load
from watcher.demo_receivers import (
    DISCORD_BODY_MAX,
    DISCORD_TITLE_MAX,
    ChatReceiver,
    WebhookReceiver,
)
from watcher.errors import WatcherError
from watcher.http.retry import RetryPolicy
from watcher.poll import PollReport
from watcher.printable import printable
from watcher.runtime import Runtime
from watcher.sim.adversity import MODES, Adversity
from watcher.sim.playground import CURATORS, DJ, RISING, Playground, build
from watcher.sinks.apprise_sink import ServiceLimits
from watcher.sinks.sink import SinkOptions
from watcher.store import Store
from watcher.wording import describe

Echo = Callable[[str], None]

# The harsh modes that leave the replicas in step: ties ordered afresh for every request
# (repeats and skips across page boundaries) and short pages (at the rate of the `mix` mode).
# Lag is left out on purpose: the demo believes an absence in the next round
# (`confirm_after = 0`), which is honest only while no replica lags (see README, "How
# snapshots stay honest"); so are stale counts, which only slow a freshly built world down.
HARSH = replace(MODES["tie_shuffle"], short_pages=MODES["mix"].short_pages)
SOUNDCLOUD_HARSH = Adversity(counts="zero")  # as SoundCloud shows them live

REPAIR_EXPLAINED = (
    "    repair: many artists here have the same follower count, and the server orders such"
    " ties afresh on every request, so the pages showed some accounts twice and skipped"
    " others. watcher noticed the repeats and re-read just those tie groups"
    " ({pages} extra page(s)) until every position was accounted for: nothing missed,"
    " no false unfollow."
)
REPAIR_AGAIN = "    repair: {pages} page(s) re-read to fill the gaps tied follower counts left"
SHORT_READ = (
    "    short read: {missing} account(s) fewer than the last read, none reported gone yet: an"
    " account missing from one read (a short page, a deactivation or a real unfollow) is only"
    " pending until a later read agrees"
)
VERIFIED = (
    "    verified: read the list {passes} times this poll; an account missing from one read"
    " is believed gone only when a second read agrees"
)


@dataclass
class Narrator:
    """Prints what happens, explaining a repair in full the first time and briefly after."""

    echo: Echo
    explained: set[str] = field(default_factory=set)
    sizes: dict[str, int] = field(default_factory=dict)  # each watch's last size read

    def poll(self, report: PollReport) -> None:
        self.echo("  " + report.line())
        self._short_read(report)
        if report.repairs:
            first = "repair" not in self.explained
            self.explained.add("repair")
            self.echo((REPAIR_EXPLAINED if first else REPAIR_AGAIN).format(pages=report.repairs))
        if report.ok and not report.baseline and report.passes > 1:
            self.echo(VERIFIED.format(passes=report.passes))
        self._events(report)

    def _short_read(self, report: PollReport) -> None:
        """A read showing fewer accounts than its events explain: say none is believed gone."""
        if not report.ok or report.skipped:
            return
        removed = sum(1 for event in report.events if event.type.endswith(".removed"))
        added = len(report.events) - removed
        before = self.sizes.get(report.watch.key)
        self.sizes[report.watch.key] = report.size
        missing = 0 if before is None else before + added - removed - report.size
        if missing > 0:
            self.echo(SHORT_READ.format(missing=missing))

    def _events(self, report: PollReport) -> None:
        for event in report.events:
            self.echo(f"    EVENT {printable(describe(event))}")


def config_toml(play: Playground, chat: ChatReceiver, hook_url: str, secret: str) -> str:
    """The demo's watcher.toml: the simulators, the two receivers, three watches."""

    def text(value: str) -> str:
        return json.dumps(value)  # a JSON string is a TOML basic string

    watches = [
        ("audius", CURATORS[0][0], "following"),
        ("audius", RISING[0], "followers"),
        ("soundcloud", DJ[0], "following"),
    ]
    lines = [
        'database = "watcher.db"',
        "",
        "[defaults]",
        'interval = "1m"',
        'jitter = "0s"',
        'timeout = "10s"',
        "# The simulated replicas never lag, so an absence need not wait a minute to be",
        "# believed: an unfollow shows in the round after it.",
        "confirm_after = 0",
        "",
        "[audius]",
        f"base_url = {text(play.audius.base_url)}",
        "# The simulator is not rationed: no need to wait at the free plan's 10 a second.",
        "requests_per_second = 200",
        "",
        "[soundcloud]",
        f"base_url = {text(play.soundcloud.base_url)}",
        f"token_url = {text(play.soundcloud.token_url)}",
        f"client_id = {text(play.soundcloud.tokens.client_id)}",
        f"client_secret = {text(play.soundcloud.tokens.client_secret)}",
        "",
        "[notifiers.chat]",
        'type = "apprise"',
        f"urls = [{text(chat.apprise_url)}]",
        "",
        "[notifiers.crm]",
        'type = "webhook"',
        f"url = {text(hook_url)}",
        f"secret = {text(secret)}",
    ]
    for platform, account, relation in watches:
        lines += ["", "[[watch]]", f'platform = "{platform}"', f'account = "{account}"']
        lines += [f'relation = "{relation}"', 'notify = ["chat", "crm"]']
    return "\n".join(lines) + "\n"


@contextmanager
def _folder(keep: Path | None) -> Iterator[Path]:
    """DIR when kept (refused if an earlier demo's database is there), else a temporary one."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="watcher-demo-") as folder:
            yield Path(folder)
        return
    if (keep / "watcher.db").exists():
        raise WatcherError(
            f"demo: {keep} already holds a watcher.db from an earlier demo;"
            " name a new or empty directory with --keep"
        )
    try:
        keep.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WatcherError(f"demo: cannot create {keep}: {exc.strerror}") from None
    yield keep


@dataclass
class Show:
    """One demo's running parts: the world, the receivers, the runtime and the narration."""

    play: Playground
    chat: ChatReceiver
    hooks: WebhookReceiver
    engine: Runtime
    narrator: Narrator

    @property
    def echo(self) -> Echo:
        return self.narrator.echo

    async def round(self, number: int, pause: float) -> None:
        if number == 1:
            self.echo("round 1: first polls set the baseline; no events")
        else:
            await asyncio.sleep(pause)
            audius, soundcloud = self.play.churn()
            self.echo(f"round {number}: {audius}")
            self.echo(f"  and {soundcloud}")
        for report in await self.engine.poll_all():
            self.narrator.poll(report)
        await self.deliver()

    async def deliver(self) -> None:
        """Send what the round recorded, then print what each receiver got."""
        assert self.engine.dispatcher is not None
        sent = await self.engine.dispatcher.dispatch()
        for outcome in sent.outcomes:
            if outcome.state != "delivered":
                self.echo("  " + outcome.line())
        for line in self.chat.take() + self.hooks.take():
            self.echo(line)


def _describe(config: Config, play: Playground, echo: Echo) -> None:
    echo(f"simulated Audius at {play.audius.base_url}, harsh modes on: {HARSH.describe()}")
    echo(f"simulated SoundCloud at {play.soundcloud.base_url} (OAuth tokens, cursor paging,")
    echo("  follower counts all 0 as SoundCloud shows them live)")
    echo("chat receiver: messages printed as Discord shows them (`chat |`)")
    echo("webhook receiver: every signature verified with the standardwebhooks library")
    echo(f"config: {config.database_path.parent / 'watcher.toml'}")


async def _run(rounds: int | None, pause: float, seed: int, keep: Path | None, echo: Echo) -> None:
    play = build(seed, audius_adversity=HARSH, soundcloud_adversity=SOUNDCLOUD_HARSH)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")
    with (
        _folder(keep) as folder,
        play.audius.serve(),
        play.soundcloud.serve(),
        ChatReceiver() as chat,
        WebhookReceiver(secret) as hooks,
    ):
        assert isinstance(chat, ChatReceiver) and isinstance(hooks, WebhookReceiver)
        path = folder / "watcher.toml"
        path.write_text(config_toml(play, chat, hooks.url, secret), encoding="utf-8")
        config = load(path)
        store = Store.open(config.database_path)
        engine = Runtime(config, store, retry=RetryPolicy.immediate())
        limits = ServiceLimits(body_maxlen=DISCORD_BODY_MAX, title_maxlen=DISCORD_TITLE_MAX)
        engine.open_dispatcher(options=SinkOptions(throttle=False, limits=limits))
        show = Show(play, chat, hooks, engine, Narrator(echo))
        try:
            _describe(config, play, echo)
            number = 0
            while rounds is None or number < rounds:
                number += 1
                await show.round(number, pause)
            echo(
                f"done: {store.events.count()} event(s) recorded, {hooks.verified} webhook(s)"
                f" verified; {play.soundcloud.tokens.requests} SoundCloud token request(s)"
            )
        finally:
            await engine.aclose()
            store.close()


def _follow_up(keep: Path, echo: Echo) -> None:
    config = keep / "watcher.toml"
    echo(f"kept in {keep}; follow up with:")
    echo(f"  watcher events --config {config}")
    echo(f"  watcher status --config {config}")
    echo(f"  watcher list tastemaker --config {config}")
    echo(f"  watcher serve --config {config}    # the dashboard, at http://127.0.0.1:8787")


def run_demo(
    *, rounds: int | None, pause: float, seed: int | None, keep: Path | None, echo: Echo
) -> None:
    """Run `rounds` rounds (the first takes the baselines), or until Ctrl-C when None."""
    import random

    chosen = seed if seed is not None else random.randrange(1 << 30)
    try:
        asyncio.run(_run(rounds, pause, chosen, keep, echo))
    except KeyboardInterrupt:
        echo("demo stopped")
    if keep is not None:
        _follow_up(keep, echo)
