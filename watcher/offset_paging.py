"""Turn offset pages over an unstable order into a listing whose completeness is known.

Audius orders lists by follower_count with no tie-breaker and serves each page from a random
replica, so one pass can show an account twice and skip another. The pages themselves tell
when that happened: a pass that returns N positions with N distinct accounts skipped nobody
(a skip always pairs with a repeat, unless an entry is removed mid-pass, which the
reconciliation step guards against). When a pass has repeats, the skipped accounts can only
sit inside the tie groups that repeat, so only those groups' positions are fetched again, each
group in as few requests as possible (a group within one page comes back whole from whichever
replica serves it). Quiet polls therefore cost exactly one pass; noisy ones a few extra pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from watcher import progress
from watcher.errors import PlatformError
from watcher.platforms.base import Listing, Profile

FetchPage = Callable[[int, int], Awaitable[list[Profile]]]

# A list longer than this is a runaway server, not a real account.
MAX_POSITIONS = 20_000_000


@dataclass(slots=True)
class _Group:
    """The positions that share one sort key, and the distinct accounts seen with that key."""

    start: int
    end: int
    seen: set[str]

    @property
    def missing(self) -> int:
        return (self.end - self.start + 1) - len(self.seen)


def _sort_key(profile: Profile) -> int:
    return profile.follower_count if profile.follower_count is not None else -1


async def _full_pass(fetch: FetchPage, page_size: int, listing: Listing) -> list[Profile]:
    """One pass from offset 0 until a short page; returns the entries in position order."""
    entries: list[Profile] = []
    offset = 0
    while True:
        page = await fetch(offset, page_size)
        listing.pages += 1
        listing.requests += 1
        progress.page_fetched(len(page))
        if len(page) > page_size:
            raise PlatformError(f"a page returned {len(page)} entries where {page_size} were asked")
        entries.extend(page)
        if len(page) < page_size:
            return entries
        offset += page_size
        if offset > MAX_POSITIONS:
            raise PlatformError(f"list does not end after {MAX_POSITIONS} entries")


def _groups(entries: list[Profile]) -> dict[int, _Group] | None:
    """Tie groups by sort key, or None when the pass is out of order (counts moved mid-pass)."""
    groups: dict[int, _Group] = {}
    previous: int | None = None
    for position, entry in enumerate(entries):
        key = _sort_key(entry)
        if previous is not None and key > previous:
            return None
        group = groups.get(key)
        if group is None:
            groups[key] = _Group(position, position, {entry.id})
        else:
            group.end = position
            group.seen.add(entry.id)
        previous = key
    return groups


async def _repair_groups(
    fetch: FetchPage, page_size: int, groups: dict[int, _Group], listing: Listing, rounds: int
) -> bool:
    """Re-fetch only the positions of tie groups with repeats; True when every gap closed."""
    for _ in range(rounds):
        broken = [group for group in groups.values() if group.missing > 0]
        if not broken:
            return True
        for group in broken:
            offset = group.start
            while offset <= group.end:
                limit = min(page_size, group.end - offset + 1)
                page = await fetch(offset, limit)
                listing.requests += 1
                listing.pages += 1
                for entry in page:
                    listing.members.setdefault(entry.id, entry)
                    same = groups.get(_sort_key(entry))
                    if same is group:
                        group.seen.add(entry.id)
                offset += limit
    return all(group.missing <= 0 for group in groups.values())


async def collect_by_offset(fetch: FetchPage, page_size: int, max_passes: int) -> Listing:
    """Fetch a whole offset-paged list; `listing.complete` says whether nothing was skipped."""
    listing = Listing()
    for _ in range(max_passes):
        entries = await _full_pass(fetch, page_size, listing)
        listing.passes += 1
        listing.positions = len(entries)
        for entry in entries:
            listing.members.setdefault(entry.id, entry)
        distinct = len({entry.id for entry in entries})
        if distinct == len(entries):
            listing.complete = True
            return listing
        listing.clean = False
        groups = _groups(entries)
        if groups is not None:
            # Pool what earlier passes saw into the groups, keyed as they are now.
            for member in listing.members.values():
                group = groups.get(_sort_key(member))
                if group is not None:
                    group.seen.add(member.id)
            if await _repair_groups(fetch, page_size, groups, listing, max_passes):
                listing.complete = True
                return listing
        # Counts moved mid-pass or the repeats would not close: another full pass, pooled.
    listing.complete = False
    listing.clean = False
    return listing
