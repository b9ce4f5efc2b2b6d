"""Events as the pages show them: the sentence `wording.py` makes of every event, with the
watched account linked to its dashboard page and the other account to its profile.

Each account is rendered to escaped markup first and then handed to `wording`, as chat
messages do (see `wording.py`): the wording stays in one place, and nothing a stranger wrote
reaches the page unescaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from watcher.store import EventRow
from watcher.web.filters import account_path, profile_link
from watcher.wording import handle_of, person, sentence, signal_sentence


@dataclass(frozen=True, slots=True)
class EventLine:
    id: str
    type: str
    timestamp: str
    platform: str
    html: Markup  # the sentence, its accounts linked

    @property
    def kind(self) -> str:
        """`follow`, `unfollow` or `signal`: what the line's badge says."""
        if self.type.startswith("signal."):
            return "signal"
        return "follow" if self.type.endswith(".added") else "unfollow"


def event_lines(rows: Iterable[EventRow]) -> list[EventLine]:
    lines = []
    for row in rows:
        envelope = row.envelope()
        data = envelope.get("data", {})
        platform = str(data.get("platform", ""))
        try:
            html = _sentence(row.type, platform, data)
        except (KeyError, TypeError):
            html = Markup("{} {}").format(row.type, row.id)  # not an event we can word
        lines.append(EventLine(row.id, row.type, row.timestamp, platform, html))
    return lines


def _sentence(type_: str, platform: str, data: Mapping[str, Any]) -> Markup:
    target = _person(data["target"])
    if type_.startswith("signal."):
        accounts = [_watched(platform, account) for account in data["accounts"]]
        return Markup(signal_sentence(str(escape(str(data["signal"]))), accounts, target))
    return Markup(sentence(type_, _watched(platform, data["account"]), target))


def _person(account: Mapping[str, Any]) -> str:
    """`@handle (Name)` linked to the profile."""
    text = person(str(account.get("handle") or ""), str(account.get("name") or ""))
    return str(profile_link(account.get("url"), text))


def _watched(platform: str, account: Mapping[str, Any]) -> str:
    """`@handle` linked to the watched account's page on the dashboard."""
    return str(
        Markup('<a href="{}"><bdi>{}</bdi></a>').format(
            account_path(platform, str(account["id"])), handle_of(str(account.get("handle") or ""))
        )
    )
