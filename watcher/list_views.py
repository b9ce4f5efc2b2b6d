"""What `watcher list`, `diff`, `mutuals` and `history` print: a watched list's members now or
at a moment, the net change between two moments, the accounts both lists of an account share,
and the list's size and changes per day, as rows for `output_formats`.

Every view reads the store only (no request is sent) and streams: the rows of a list of a
million are written as SQLite reads them. Each raises `ListUnavailable` (one line, exit 1)
when the store cannot answer honestly: a watch never read completely, or a moment before
watcher's history of the list begins (its baseline).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from watcher.errors import WatcherError
from watcher.store.memberships import MEMBER_COLUMNS, Member, Sort
from watcher.wording import handle_of

if TYPE_CHECKING:
    from watcher.account_lookup import WatchedAccount
    from watcher.store import Store, WatchRow

DIFF_COLUMNS = ("change", *MEMBER_COLUMNS)
HISTORY_COLUMNS = ("day", "size", "follows", "unfollows")
_FLAGS = ("false", "true")


class ListUnavailable(WatcherError):
    """The store holds no honest answer for the list asked (never read, or not that far back)."""


@dataclass(frozen=True, slots=True)
class WatchedList:
    """One watch's list, as the views read it."""

    store: Store
    watched: WatchedAccount
    row: WatchRow
    baseline_at: str

    @property
    def platform(self) -> str:
        return self.row.platform

    @property
    def title(self) -> str:
        """`@curator's following`: how messages name the list."""
        return f"{handle_of(self.watched.shown)}'s {self.row.relation}"

    def check_moment(self, at: str, option: str) -> None:
        if at < self.baseline_at:
            raise ListUnavailable(
                f"{option} {at} is before watcher's history of {self.title} begins"
                f" ({self.baseline_at}, its first complete poll)"
            )


def watched_list(store: Store, watched: WatchedAccount) -> WatchedList:
    """The list of `watched`, or ListUnavailable if no poll has read it completely yet."""
    row = watched.row
    if row is None or row.baseline_at is None:
        title = f"{handle_of(watched.shown)}'s {watched.watch.relation}"
        raise ListUnavailable(
            f"{title} has not been read completely yet (run `watcher once`, or wait for the"
            " daemon's first poll)"
        )
    return WatchedList(store, watched, row, row.baseline_at)


def members(
    target: WatchedList, fmt: str, *, at: str | None = None, sort: Sort = "since"
) -> Iterator[tuple[Any, ...]]:
    """`watcher list`: rows of MEMBER_COLUMNS, now or at `at`."""
    if at is not None:
        target.check_moment(at, "--at")
    exported = fmt == "csv"
    rows = target.store.memberships.members(
        target.row.id, target.platform, at=at, sort=sort, exported=exported
    )
    return rows if exported else shown(rows, fmt)


def diff(target: WatchedList, fmt: str, since: str, until: str | None) -> Iterator[tuple[Any, ...]]:
    """`watcher diff`: rows of DIFF_COLUMNS, the members added first."""
    target.check_moment(since, "--since")
    if until is not None and until < since:
        raise ListUnavailable(f"--until {until} is before --since {since}")
    changes = target.store.memberships.diff(target.row.id, target.platform, since, until)
    for change, member in changes:
        yield (change, *_shown_one(member, fmt))


def mutuals(following: WatchedList, followers: WatchedList, fmt: str) -> Iterator[tuple[Any, ...]]:
    """`watcher mutuals`: rows of MEMBER_COLUMNS, in both lists now."""
    store = following.store
    rows = store.memberships.mutuals(following.row.id, followers.row.id, following.platform)
    return shown(rows, fmt)


def history(target: WatchedList) -> Iterator[tuple[str, int | None, int, int]]:
    """`watcher history`: rows of HISTORY_COLUMNS, one per UTC day."""
    return target.store.memberships.history(target.row.id)


def shown(rows: Iterable[Member], fmt: str) -> Iterator[tuple[Any, ...]]:
    """Member rows as `fmt` shows them (the cheapest conversion per format: a CSV export of a
    million members spends its time in SQLite and the CSV writer, not here)."""
    if fmt == "csv":
        # Flags as `true`/`false` text: the writer's fast path takes whole chunks of text.
        return ((m[0], m[1], m[2], m[3], _FLAGS[m[4]], m[5], m[6]) for m in rows)
    return (_shown_one(m, fmt) for m in rows)


def _shown_one(m: Member, fmt: str) -> tuple[Any, ...]:
    name = m[2]
    if fmt == "table" and m[7]:
        # Kept silently (deactivated, or gone): marked, not hidden.
        name = f"{name or ''} (deactivated)".lstrip()
    verified: Any = _FLAGS[m[4]] if fmt == "csv" else bool(m[4])
    return (m[0], m[1], name, m[3], verified, m[5], m[6])
