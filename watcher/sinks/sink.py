"""What every notifier kind provides: its section of the config and one `Sink` that sends.

A kind (apprise, webhook, ...) is one module holding a `SinkKind`; `sinks/registry.py` finds it
by name. The dispatcher knows only this protocol: which rows make one message (`digest`), how
soon a success must be marked (`idempotent`) and `send`. `watcher notify-test` calls `test`,
which goes through the same send path as a delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from watcher.target_filter_settings import TargetFilterSettings

if TYPE_CHECKING:
    from watcher.http.client import DirectClient
    from watcher.sinks.apprise_sink import ServiceLimits
    from watcher.sinks.base import SendResult
    from watcher.sinks.holding import Hold
    from watcher.store import DeliveryRow


class NotifierSettings(TargetFilterSettings):
    """A `[notifiers.NAME]` table. Each kind declares every field itself, in the order its
    errors should be reported; these two every kind has. The target filter's keys
    (`min_target_followers`, ...) every kind takes alike, from its base."""

    if TYPE_CHECKING:
        type: str  # the kind's name, which picks the model
        events: list[str] | None  # the event types it wants (None: all)

    def hold(self) -> Hold | None:
        """Where this notifier holds its messages for a digest (a schedule, quiet hours: see
        sinks/holding.py); None, the default, for a kind that sends each as it comes."""
        return None


@dataclass(frozen=True)
class SinkOptions:
    """What a caller may change about sending, the same for every kind that has a use for it.

    `throttle=False` skips the pauses a service asks for between requests (tests sending many
    parts); `limits` replaces a chat service's own message limits (stand-ins for real services).
    """

    throttle: bool | None = None
    limits: ServiceLimits | None = None


@dataclass(frozen=True)
class SinkContext:
    """What a sink may use: the shared HTTP client (each send passes its own timeout) and the
    options above."""

    http: DirectClient
    options: SinkOptions = field(default_factory=SinkOptions)


def open_http() -> DirectClient:
    """The HTTP client sinks share, for the dispatcher and `notify-test` alike. Each send
    passes its notifier's own timeout; this one is never used."""
    from watcher.http.client import open_client
    from watcher.http.identity import USER_AGENT

    return open_client(timeout=30.0, headers={"User-Agent": USER_AGENT})


@dataclass(frozen=True)
class Attempt:
    """One send of one message: its result, the targets done after it (kinds with several
    targets send only to those not done yet on a retry), and whether any target took it in
    this attempt (then the notifier is not down, whatever failed)."""

    result: SendResult
    done: list[str]
    reached_some: bool = False


class Sink(Protocol):
    """One configured notifier, ready to send."""

    @property
    def digest(self) -> bool:
        """Whether the events of one poll go out as one message (the dispatcher groups them)."""
        ...

    @property
    def idempotent(self) -> bool:
        """Whether the receiver deduplicates a message sent twice: then a success may wait to
        be marked with others (a crash resends it), else it is marked at once."""
        ...

    async def send(self, rows: Sequence[DeliveryRow], now: datetime) -> Attempt:
        """Send one message made of `rows` (one row, or one digest's); never raises for a
        delivery problem (a stored body it cannot read may raise KeyError, TypeError or
        ValueError)."""
        ...

    async def test(self, moment: datetime) -> list[tuple[str, SendResult]]:
        """Send a test message now, through `send`'s path; one (redacted target, result) each."""
        ...


@dataclass(frozen=True)
class SinkKind:
    """What a kind's module declares: its name, its settings model and how to open its sink."""

    name: str
    settings: type[NotifierSettings]
    open: Callable[[str, NotifierSettings, SinkContext], Sink]
