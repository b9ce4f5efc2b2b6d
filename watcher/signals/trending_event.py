"""The `signal.trending` event on the wire: what `watcher events --json` prints and webhooks
POST, in the envelope every event shares (`id`, `type`, `timestamp`, `data`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.clock import iso
from watcher.events import new_event_id, target_view
from watcher.platforms.base import Profile
from watcher.signals.trending_kind import EVENT_TYPE


@dataclass(frozen=True, slots=True)
class TrendingSignal:
    id: str
    timestamp: str
    signal: str  # the [[signal]]'s name
    platform: str
    target: Profile
    # The watched accounts that followed the target (id, handle, name, url, followed_at),
    # earliest first.
    accounts: tuple[dict[str, Any], ...]
    window_s: float
    type: str = EVENT_TYPE

    @classmethod
    def create(
        cls,
        *,
        signal: str,
        platform: str,
        target: Profile,
        accounts: list[dict[str, Any]],
        window_s: float,
        moment: datetime,
    ) -> TrendingSignal:
        return cls(
            new_event_id(moment), iso(moment), signal, platform, target, tuple(accounts), window_s
        )

    def envelope(self) -> dict[str, Any]:
        window: float | int = int(self.window_s) if self.window_s.is_integer() else self.window_s
        return {
            "id": self.id,
            "type": self.type,
            "timestamp": self.timestamp,
            "data": {
                "signal": self.signal,
                "platform": self.platform,
                "target": target_view(self.target),
                "accounts": list(self.accounts),
                "window_s": window,
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.envelope(), ensure_ascii=False, separators=(",", ":"))
