"""The event model and its wire format: what `events --json` prints and webhooks POST."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.clock import iso
from watcher.platforms.base import Profile, Relation

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id(moment: datetime | None = None) -> str:
    """`evt_` + a ULID: unique, and sorts in creation order, which helps receivers and humans."""
    millis = int((moment.timestamp() if moment else time.time()) * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "evt_" + "".join(reversed(chars))


def event_type(relation: Relation, added: bool) -> str:
    noun = "following" if relation == "following" else "follower"
    return f"{noun}.{'added' if added else 'removed'}"


def account_view(profile: Profile) -> dict[str, Any]:
    return {"id": profile.id, "handle": profile.handle, "name": profile.name, "url": profile.url}


def target_view(profile: Profile) -> dict[str, Any]:
    view = account_view(profile)
    view["follower_count"] = profile.follower_count
    view["is_verified"] = profile.is_verified
    return view


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    timestamp: str
    platform: str
    relation: Relation
    account: Profile
    target: Profile

    @classmethod
    def create(
        cls,
        *,
        platform: str,
        relation: Relation,
        added: bool,
        account: Profile,
        target: Profile,
        moment: datetime,
    ) -> Event:
        return cls(
            id=new_event_id(moment),
            type=event_type(relation, added),
            timestamp=iso(moment),
            platform=platform,
            relation=relation,
            account=account,
            target=target,
        )

    def envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "timestamp": self.timestamp,
            "data": {
                "platform": self.platform,
                "relation": self.relation,
                "account": account_view(self.account),
                "target": target_view(self.target),
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.envelope(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> Event:
        """The event back from its stored envelope (the outbox keeps only the JSON)."""
        data = envelope["data"]
        account, target = data["account"], data["target"]
        return cls(
            id=envelope["id"],
            type=envelope["type"],
            timestamp=envelope["timestamp"],
            platform=data["platform"],
            relation=data["relation"],
            account=Profile(account["id"], account["handle"], account["name"], account["url"]),
            target=Profile(
                target["id"],
                target["handle"],
                target["name"],
                target["url"],
                follower_count=target.get("follower_count"),
                is_verified=bool(target.get("is_verified")),
            ),
        )
