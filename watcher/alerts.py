"""Failure alerts on the wire: `watch.failing` once a watch has failed several polls in a row,
`watch.recovered` when it polls cleanly again.

They travel through the outbox like events and share the event envelope's shape (`id`, `type`,
`timestamp`, `data`), so a webhook receiver verifies and dedupes them the same way; receivers
that only care about follows can ignore types they do not know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.clock import iso
from watcher.events import new_event_id
from watcher.platforms.base import Profile, Relation

FAILING, RECOVERED = "watch.failing", "watch.recovered"


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    type: str
    timestamp: str
    platform: str
    relation: Relation
    # The watched account; before it was ever resolved, only the configured text is known
    # (empty id and url, handle and name as written in the config).
    account: Profile
    failures: int  # failed polls in a row: when it alerted, or before it recovered
    error: str | None = None  # the latest poll error (failing only)

    @classmethod
    def create(
        cls,
        type_: str,
        *,
        platform: str,
        relation: Relation,
        account: Profile,
        failures: int,
        moment: datetime,
        error: str | None = None,
    ) -> Alert:
        return cls(
            new_event_id(moment), type_, iso(moment), platform, relation, account, failures, error
        )

    @property
    def resolved(self) -> bool:
        return bool(self.account.id)

    def envelope(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "platform": self.platform,
            "relation": self.relation,
            "account": {
                "id": self.account.id or None,
                "handle": self.account.handle,
                "name": self.account.name,
                "url": self.account.url or None,
            },
            "failures": self.failures,
        }
        if self.error is not None:
            data["error"] = self.error
        return {"id": self.id, "type": self.type, "timestamp": self.timestamp, "data": data}

    def to_json(self) -> str:
        return json.dumps(self.envelope(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> Alert:
        data = envelope["data"]
        account = data["account"]
        return cls(
            id=envelope["id"],
            type=envelope["type"],
            timestamp=envelope["timestamp"],
            platform=data["platform"],
            relation=data["relation"],
            account=Profile(
                account["id"] or "", account["handle"], account["name"], account["url"] or ""
            ),
            failures=int(data["failures"]),
            error=data.get("error"),
        )
