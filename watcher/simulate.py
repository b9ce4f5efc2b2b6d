"""`watcher sim`: both simulated APIs on fixed loopback ports, with live churn, until stopped.

So that anyone can try the real `watcher once` / `watcher run` without an API key: the
simulators listen where a config can name them (Audius on `port`, SoundCloud on `port + 1`,
127.0.0.1 only), the config lines that reach them are printed to paste, and every
`churn_every` seconds one account follows or unfollows another on each platform, printed as
it happens, so what watcher later reports can be checked against it.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

from watcher.errors import WatcherError
from watcher.sim.playground import CURATORS, DJ, RISING, Playground, build
from watcher.sim.rate_limits import RateLimits

Echo = Callable[[str], None]


# The key `watcher sim`'s Audius knows; any other is refused with 401, as a mistyped key.
SIM_API_KEY = "sim-api-key"


class PortBusy(WatcherError):
    """A port the simulator needs is taken: one line for the user, exit 1."""


def config_text(play: Playground) -> str:
    """The watcher.toml that polls the running simulators: platforms, then a few watches."""
    audius, soundcloud = play.audius, play.soundcloud
    lines = [
        "[audius]",
        f'base_url = "{audius.base_url}"',
        f'api_key = "{SIM_API_KEY}"  # rationed like the free plan: 10 requests a second',
        "",
        "[soundcloud]",
        f'base_url = "{soundcloud.base_url}"',
        f'token_url = "{soundcloud.token_url}"',
        f'client_id = "{soundcloud.tokens.client_id}"',
        f'client_secret = "{soundcloud.tokens.client_secret}"',
    ]
    for platform, account, relation in (
        ("audius", CURATORS[0][0], "following"),
        ("audius", RISING[0], "followers"),
        ("soundcloud", DJ[0], "following"),
    ):
        lines += [
            "",
            "[[watch]]",
            f'platform = "{platform}"',
            f'account = "{account}"',
            f'relation = "{relation}"',
        ]
    return "\n".join(lines)


def _listen(play: Playground, port: int) -> None:
    """Audius on `port`, SoundCloud on `port + 1`; a taken port is `PortBusy`, nothing left up."""
    for sim, at in ((play.audius, port), (play.soundcloud, port + 1)):
        try:
            sim.start(at)
        except OSError as exc:
            play.audius.stop()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise PortBusy(
                f"sim cannot listen on 127.0.0.1:{at}: {reason[:1].lower() + reason[1:]}"
                " (another `watcher sim`? try another --port)"
            ) from None


def _stop_on_signals(stop: threading.Event) -> Callable[[], str]:
    """SIGTERM and SIGINT set `stop`; returns what stopped it, for the last line."""
    received: list[str] = []

    def handler(number: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(number).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return lambda: received[0] if received else "stop"


def run_sim(*, port: int, churn_every: float, seed: int, echo: Echo) -> None:
    """Serve until SIGTERM or Ctrl-C, churning every `churn_every` seconds (0: never)."""
    play = build(seed)
    # Rationed as the real API is: the key at the free plan's limits, fewer without one.
    play.audius.api_key = SIM_API_KEY
    play.audius.limits = RateLimits()
    stop = threading.Event()
    stopped_by = _stop_on_signals(stop)
    _listen(play, port)
    try:
        echo(
            f"watcher sim: simulated Audius at {play.audius.base_url} and SoundCloud at"
            f" {play.soundcloud.base_url} (seed {seed}); Ctrl-C stops"
        )
        echo("# paste into watcher.toml, then run `watcher once` or `watcher run`:")
        echo(config_text(play))
        echo("# end of config")
        every = churn_every if churn_every > 0 else None
        while not stop.wait(every):
            for line in play.churn():
                echo(f"sim: {line}")
        echo(f"sim: stopped by {stopped_by()}")
    finally:
        play.audius.stop()
        play.soundcloud.stop()
