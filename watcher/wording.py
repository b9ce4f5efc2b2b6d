"""How a person reads an event: one sentence, the same in every place that shows one.

    @curator followed @artist_12 (Artist Twelve)
    @curator unfollowed @artist_12 (Artist Twelve)
    @fan_3 (Fan Three) started following @curator
    @fan_3 (Fan Three) stopped following @curator
    scouting: @a, @b and @c followed @newcomer (Newcomer)      (a signal)

The watched account is named by its handle; the other account by its handle and, when its
name says more than the handle, the name in brackets (`person`). A follower event reads from
the follower's side, so the sentence says who did what. The CLI (`events`, `once`), the poll
and delivery log lines, `watcher demo`, `watcher deliveries` and chat messages all build their
sentence here; nothing else words an event.

The text is raw: whoever shows it makes it safe for where it goes (`printable` and redaction
for a terminal or a log, escaping and defusing for a chat service). Chat messages render each
account in their own markup and pass the results to `sentence`, so the wording and the name
rule (`shows_name`) still live only here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from watcher.events import Event


def shows_name(handle: str, name: str) -> bool:
    """Whether `name` adds to `handle`: not empty, and not the handle again (any case, with
    or without its `@`)."""
    shown = name.strip()
    return bool(shown) and shown.lstrip("@").casefold() != handle.strip().lstrip("@").casefold()


def handle_of(handle: str) -> str:
    """`@handle`, whether or not the stored handle carries its `@`."""
    return "@" + handle.strip().lstrip("@")


def person(handle: str, name: str = "") -> str:
    """`@handle (Name)`, or `@handle` when the name is unknown or just the handle."""
    shown = handle_of(handle)
    return f"{shown} ({name.strip()})" if shows_name(handle, name) else shown


def sentence(type_: str, account: str, other: str) -> str:
    """The sentence of an event of type `type_` (`following.added`, `follower.removed`, ...),
    with both accounts already rendered: `account` the watched one, `other` the account
    followed, unfollowed, following or no longer following it."""
    added = type_.endswith(".added")
    if type_.startswith("following."):
        return f"{account} {'followed' if added else 'unfollowed'} {other}"
    return f"{other} {'started' if added else 'stopped'} following {account}"


def describe(event: Event) -> str:
    """`@curator followed @artist_12 (Artist Twelve)`: the event as a person reads it."""
    target = event.target
    return sentence(event.type, handle_of(event.account.handle), person(target.handle, target.name))


def signal_sentence(signal: str, accounts: Sequence[str], target: str) -> str:
    """`scouting: @a, @b and @c followed @newcomer (Newcomer)`: what a signal says happened,
    with the accounts already rendered."""
    followers = (
        accounts[-1] if len(accounts) < 2 else f"{', '.join(accounts[:-1])} and {accounts[-1]}"
    )
    return f"{signal}: {followers} followed {target}"


def describe_envelope(envelope: Mapping[str, Any]) -> str:
    """The same sentence from a stored or received envelope (`events --json`, the outbox, a
    webhook body), a signal's included. KeyError or TypeError when it is not an event
    envelope."""
    data = envelope["data"]
    if str(envelope["type"]).startswith("signal."):
        target = data["target"]
        return signal_sentence(
            str(data["signal"]),
            [handle_of(str(account["handle"])) for account in data["accounts"]],
            person(str(target["handle"]), str(target.get("name") or "")),
        )
    account, target = data["account"], data["target"]
    return sentence(
        str(envelope["type"]),
        handle_of(str(account["handle"])),
        person(str(target["handle"]), str(target.get("name") or "")),
    )


def watched_account(configured: str, handle: str | None) -> str:
    """How lines name a watched account: its handle once a poll has resolved it, else the
    account as written in the config (a URL, an id, a share link)."""
    return handle.strip().lstrip("@") if handle and handle.strip().lstrip("@") else configured
