"""Which watch an account written on the command line means (the ACCOUNT of the reading
commands: `events --account`, `list`, `diff`, `mutuals`, `history`).

A user writes an account the way the config does, or the way a poll has shown it since:

* the handle, with or without `@`, in any case (`deadmau5`, `@Deadmau5`);
* the id (an Audius id, a SoundCloud URN `soundcloud:users:123` or its number);
* the profile URL (`https://audius.co/deadmau5`, `soundcloud.com/deadmau5`, with or without
  the scheme);
* the exact text written in the config, whatever it is (a SoundCloud share link cannot be
  resolved offline: it matches literally, and by the handle and id once a poll resolved it).

A watch covers what the user wrote when the two name the same account by any of these: the
configured text (normalized by the platform kind's `account_keys`), the account id a poll
stored, or the handle its stored profile has. No request is sent; nothing is written.

Use:

    lookup = AccountLookup(config.watch, store)
    chosen = lookup.watch_of(typed, relation)   # one watch, for list-like commands
    every = lookup.watches_of(typed)            # all of that account's watches (every relation)

Both raise `AccountNotWatched` (a WatcherError: one line, exit 1) when no watch covers the
text, naming the watched accounts: `no watch covers 'nobody' (watched: Audius, deadmau5,
some-artist)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from watcher.errors import WatcherError
from watcher.platforms import registry
from watcher.platforms.kind import handle_key, id_key
from watcher.wording import watched_account

if TYPE_CHECKING:
    from watcher.config import Watch
    from watcher.store import Store, WatchRow

RELATIONS = ("following", "followers")


class AccountNotWatched(WatcherError):
    """What the user wrote names no watched account, or not for the relation asked, or more
    than one watched account."""


@dataclass(frozen=True, slots=True)
class WatchedAccount:
    """A configured watch with what the store knows of it.

    `row` is the watch's row in the store (None until its first poll was recorded);
    `handle` the watched account's handle once a poll resolved it."""

    watch: Watch
    row: WatchRow | None
    handle: str | None

    @property
    def account_id(self) -> str | None:
        return self.row.account_id if self.row is not None else None

    @property
    def shown(self) -> str:
        """How messages name the account: its handle once known, else the configured text."""
        return watched_account(self.watch.account, self.handle)

    @property
    def identity(self) -> tuple[str, str]:
        """What tells two watched accounts apart: the platform and the id once known; before,
        the handle the config names (else the text itself)."""
        if self.account_id:
            return self.watch.platform, id_key(self.account_id)
        keys = sorted(_keys(self.watch.platform, self.watch.account))
        handles = [key for key in keys if key.startswith("handle:")]
        return self.watch.platform, (handles or [self.watch.account])[0]


class AccountLookup:
    """The watches of a config, with their stored ids and handles, searchable by ACCOUNT.

    `store` may be None (no database yet): matching then uses the configured text alone."""

    def __init__(self, watches: Sequence[Watch], store: Store | None = None) -> None:
        rows = {row.key: row for row in store.watches.all()} if store is not None else {}
        handles = store.watches.handles() if store is not None else {}
        self.watched = [WatchedAccount(w, rows.get(w.key), handles.get(w.key)) for w in watches]
        # Every stored watch row, configured or not: earlier watches of the same account.
        self._rows = list(rows.values())

    def watched_names(self) -> list[str]:
        """The watched accounts as errors list them: handles when known, else the configured
        text; unique, sorted whatever their case."""
        return sorted({w.shown for w in self.watched}, key=lambda name: (name.casefold(), name))

    def watches_of(self, typed: str) -> list[WatchedAccount]:
        """Every watch covering what the user wrote, in config order (both relations of the
        account, and every platform's account the text names); AccountNotWatched if none."""
        found = [w for w in self.watched if _covers(w, typed)]
        if not found:
            raise self._nothing_covers(typed)
        return found

    def watch_of(self, typed: str, relation: str | None = None) -> WatchedAccount:
        """The one watch of the account the user wrote, for `relation` (`following` or
        `followers`). With `relation` None: `following` when the account is watched for both,
        else the relation it is watched for. AccountNotWatched when no watch covers the text,
        when the account is not watched for `relation`, or when the text names several
        watched accounts (the same handle on two platforms: a profile URL tells them apart).
        """
        found = self.watches_of(typed)
        accounts = sorted({w.identity for w in found})
        if len(accounts) > 1:
            names = ", ".join(f"{w.watch.platform} {w.shown}" for w in _one_per_account(found))
            raise AccountNotWatched(
                f"'{typed}' names more than one watched account ({names}):"
                " write it as a profile URL or an id"
            )
        if relation is not None and relation not in RELATIONS:
            raise AccountNotWatched(f"unknown relation '{relation}' (following or followers)")
        wanted = relation or ("following" if len(found) > 1 else found[0].watch.relation)
        for w in found:
            if w.watch.relation == wanted:
                return w
        watched = " and ".join(sorted({w.watch.relation for w in found}))
        raise AccountNotWatched(
            f"no watch covers the {wanted} of '{typed}' (it is watched for {watched} only;"
            f' add a [[watch]] with relation = "{wanted}")'
        )

    def store_ids(self, found: Sequence[WatchedAccount]) -> list[int]:
        """The store's watch ids holding the events of the accounts in `found`: their own
        rows, and the rows of earlier watches of the same account (a config line rewritten,
        say from a handle to a URL, is a new watch in the store; the old one's events are
        still the account's)."""
        ids = {w.row.id for w in found if w.row is not None}
        accounts = {(w.watch.platform, w.account_id) for w in found if w.account_id}
        ids |= {row.id for row in self._rows if (row.platform, row.account_id) in accounts}
        return sorted(ids)

    def _nothing_covers(self, typed: str) -> AccountNotWatched:
        names = self.watched_names()
        watched = f"watched: {', '.join(names)}" if names else "the config has no [[watch]]"
        return AccountNotWatched(f"no watch covers '{typed}' ({watched})")


def _keys(platform: str, text: str) -> frozenset[str]:
    """What `text` may name on `platform`, by the platform kind's own reading of it."""
    if platform in registry.BUILTIN:
        return registry.kind(platform).account_keys(text)
    stripped = text.strip()
    return frozenset({handle_key(stripped), id_key(stripped)}) if stripped else frozenset()


def _covers(watched: WatchedAccount, typed: str) -> bool:
    text = typed.strip()
    if not text:
        return False
    if text == watched.watch.account:
        return True
    wanted = set(_keys(watched.watch.platform, text))
    if text.startswith("@") and text[1:].strip():
        wanted.add(handle_key(text))  # the `@handle` watcher shows, on every platform
    if not wanted:
        return False
    known = set(_keys(watched.watch.platform, watched.watch.account))
    if watched.account_id:
        known.add(id_key(watched.account_id))
    if watched.handle:
        known.add(handle_key(watched.handle))
    return not wanted.isdisjoint(known)


def _one_per_account(found: Sequence[WatchedAccount]) -> list[WatchedAccount]:
    seen: dict[tuple[str, str], WatchedAccount] = {}
    for w in found:
        seen.setdefault(w.identity, w)
    return sorted(seen.values(), key=lambda w: (w.watch.platform, w.shown.casefold()))
