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

from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from watcher import progress
from watcher.errors import PlatformError
from watcher.platforms.base import Listing, Members, Profile

FetchPage = Callable[[int, int], Awaitable[list[Profile]]]

# A list longer than this is a runaway server, not a real account.
MAX_POSITIONS = 20_000_000
NO_COUNT = -1  # the sort key of an entry without a follower count


@dataclass(slots=True)
class _Group:
    """The positions that share one sort key, and the distinct accounts seen with that key."""

    start: int
    end: int
    seen: set[str] = field(default_factory=set)

    @property
    def missing(self) -> int:
        return (self.end - self.start + 1) - len(self.seen)


@dataclass(slots=True)
class _Pass:
    """What one pass leaves in memory: a sort key per position (8 bytes each, not a profile),
    and the keys of the tie groups in which an entry repeated."""

    keys: array[int] = field(default_factory=lambda: array("q"))
    repeated_keys: set[int] = field(default_factory=set)


def _sort_key(profile: Profile) -> int:
    return profile.follower_count if profile.follower_count is not None else NO_COUNT


async def _full_pass(
    fetch: FetchPage, page_size: int, listing: Listing, number: int, expected: int | None
) -> _Pass:
    """One pass from offset 0 until a short page, recorded into the listing's members.

    When the account's own count says how long the list is and a full page ends exactly
    there, the empty page after it is not fetched: one request less per poll. Should the
    count be stale (a follow landed meanwhile), the entry left unread only delays that
    follow to the next poll, and whatever it pushed out of reach stays pending rather than
    removed: reconciliation re-reads the count before it believes any absence.
    """
    seen = _Pass()
    offset = 0
    while True:
        page = await fetch(offset, page_size)
        listing.pages += 1
        listing.requests += 1
        progress.page_fetched(len(page))
        if len(page) > page_size:
            raise PlatformError(f"a page returned {len(page)} entries where {page_size} were asked")
        seen.keys.extend([_sort_key(entry) for entry in page])
        for repeat in listing.members.add_page(page, number):
            seen.repeated_keys.add(_sort_key(repeat))
        if len(page) < page_size or (expected is not None and len(seen.keys) == expected):
            return seen
        offset += page_size
        if offset > MAX_POSITIONS:
            raise PlatformError(f"list does not end after {MAX_POSITIONS} entries")


def _broken_groups(seen: _Pass, members: Members) -> list[_Group] | None:
    """The tie groups that repeated, with their positions and every account pooled so far
    under their key; None when the pass is out of order (counts moved mid-pass)."""
    bounds: dict[int, _Group] = {}
    previous: int | None = None
    for position, key in enumerate(seen.keys):
        if previous is not None and key > previous:
            return None
        previous = key
        if key in seen.repeated_keys:
            group = bounds.get(key)
            if group is None:
                bounds[key] = _Group(position, position)
            else:
                group.end = position
    for key, group in bounds.items():
        group.seen = members.ids_with_follower_count(None if key == NO_COUNT else key)
    return list(bounds.values())


async def _repair_groups(
    fetch: FetchPage,
    page_size: int,
    groups: list[_Group],
    keys: array[int],
    listing: Listing,
    rounds: int,
    number: int,
) -> bool:
    """Re-fetch only the positions of tie groups with repeats; True when every gap closed."""
    for _ in range(rounds):
        broken = [group for group in groups if group.missing > 0]
        if not broken:
            return True
        for group in broken:
            key = keys[group.start]
            offset = group.start
            while offset <= group.end:
                limit = min(page_size, group.end - offset + 1)
                page = await fetch(offset, limit)
                listing.requests += 1
                listing.pages += 1
                listing.members.add_page(page, number)
                group.seen.update(entry.id for entry in page if _sort_key(entry) == key)
                offset += limit
    return all(group.missing <= 0 for group in groups)


async def collect_by_offset(
    fetch: FetchPage,
    page_size: int,
    max_passes: int,
    members: Members | None = None,
    expected: int | None = None,
) -> Listing:
    """Fetch a whole offset-paged list; `listing.complete` says whether nothing was skipped.

    `expected` is the list's length as the account's profile counts it, when known.
    """
    listing = Listing() if members is None else Listing(members=members)
    for number in range(1, max_passes + 1):
        seen = await _full_pass(fetch, page_size, listing, number, expected)
        listing.passes += 1
        listing.positions = len(seen.keys)
        if not seen.repeated_keys:
            listing.complete = True
            return listing
        listing.clean = False
        groups = _broken_groups(seen, listing.members)
        # Repair fetches count as their own pass number: a repeat there is no skip evidence.
        repair = number + max_passes
        if groups is not None and await _repair_groups(
            fetch, page_size, groups, seen.keys, listing, max_passes, repair
        ):
            listing.complete = True
            return listing
        # Counts moved mid-pass or the repeats would not close: another full pass, pooled.
    listing.complete = False
    listing.clean = False
    return listing
