"""`type = "trending"`: a target that several watched accounts followed within a window.

```toml
[[signal]]
name = "scouting"
type = "trending"
watches = "following"          # or a list of watched accounts
min_accounts = 3
window = "7d"
max_target_followers = 10000   # any target filter key
notify = ["scouts"]
```

The counting is `trending.py`, the event `trending_event.py`, the chat text
`trending_message.py`; each is imported when it is first needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from watcher.config_fields import duration, integer
from watcher.durations import shown
from watcher.signals.kind import SignalKind, SignalSettings, WatchLike
from watcher.target_filter import TargetRef, parse_ref

if TYPE_CHECKING:
    from watcher.config import Config, Watch
    from watcher.sinks.renderers import Renderer
    from watcher.store import SignalRule

EVENT_TYPE = "signal.trending"
DAY = 86_400.0
NAME_MAX = 60
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class TrendingSettings(SignalSettings):
    name: str
    type: Literal["trending"]
    # "following": every following watch counts; else the watched accounts listed.
    watches: str | list[str] = "following"
    min_accounts: Annotated[int, integer(1, 1000)] = 2
    window: Annotated[float, duration(60.0, 365 * DAY)] = 7 * DAY
    notify: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        name = value.strip()
        if not name:
            raise ValueError("must not be empty")
        if len(name) > NAME_MAX or _CONTROL.search(name):
            raise ValueError(
                f"must be at most {NAME_MAX} characters, no control characters (got {shown(name)})"
            )
        return name

    @field_validator("watches", mode="before")
    @classmethod
    def _watches(cls, value: Any) -> Any:
        if value == "following":
            return value
        if not isinstance(value, list):
            raise ValueError(
                f'must be "following" or a list of watched accounts (got {shown(value)})'
            )
        if not value:
            raise ValueError('must not be empty (or "following": every following watch)')
        for index, item in enumerate(value):
            try:
                parse_ref(item)
            except ValueError as exc:
                raise ValueError(f"[{index}] {exc}") from None
        return value

    def counted(self, watches: Sequence[WatchLike]) -> list[WatchLike]:
        """The following watches whose accounts this signal counts."""
        following = [w for w in watches if w.relation == "following"]
        if self.watches == "following":
            return following
        return [w for w in following if any(_names(w, parse_ref(t)) for t in self.watches)]

    def problem_with(self, watches: Sequence[WatchLike]) -> str | None:
        following = [w for w in watches if w.relation == "following"]
        if not following:
            return 'watches: there is no following watch to count (relation = "following")'
        if isinstance(self.watches, list):
            for index, text in enumerate(self.watches):
                problem = _unwatched(text, watches, following)
                if problem is not None:
                    return f"watches[{index}]: {problem}"
        counted = len(self.counted(watches))
        if self.min_accounts > counted:
            return (
                f"min_accounts: {self.min_accounts}, but the signal counts only {counted}"
                f" watched account{'' if counted == 1 else 's'}: it could never fire"
            )
        return None


def _names(watch: WatchLike, ref: TargetRef) -> bool:
    """Whether `ref` (from a signal's `watches`) names the account `watch` watches."""
    return ref.names(watch.platform, watch.account)


def _unwatched(
    text: str, watches: Sequence[WatchLike], following: Sequence[WatchLike]
) -> str | None:
    ref = parse_ref(text)
    if any(_names(w, ref) for w in following):
        return None
    if any(_names(w, ref) for w in watches):
        return f"{shown(text)} is watched for followers only; a signal counts following watches"
    known = ", ".join(dict.fromkeys(shown(w.account, 60) for w in following))
    return f"no following watch of {shown(text)} (following watches: {known})"


def _rule(settings: SignalSettings, config: Config, watch: Watch) -> SignalRule | None:
    from watcher.signals.trending import TrendingRule
    from watcher.sinks.routing import notifier_routes

    assert isinstance(settings, TrendingSettings)
    counted = [w.key for w in settings.counted(config.watch) if w.platform == watch.platform]
    if watch.key not in counted:
        return None
    return TrendingRule(
        name=settings.name,
        counted=frozenset(counted),
        min_accounts=settings.min_accounts,
        window=settings.window,
        targets=settings.target_filter,
        routes=notifier_routes(config, settings.notify),
    )


def _message(envelope: dict[str, Any], renderer: Renderer) -> tuple[str, str]:
    from watcher.signals.trending_message import trending_message

    return trending_message(envelope, renderer)


KIND = SignalKind("trending", EVENT_TYPE, TrendingSettings, _rule, _message)
