"""Turn offset pages over an unstable order into one pass whose gaps are known.

Audius orders lists by follower_count with no tie-breaker and serves each page from a random
replica, so one pass can show an account twice and skip another. While the list itself holds
still, the pages tell when that happened: a pass that returns N positions with N distinct
accounts skipped nobody (a skip pairs with a repeat). When a pass has repeats, the skipped
accounts can only sit inside the tie groups that repeat, so only those groups' positions are
fetched again (a group within one page comes back whole from whichever replica serves it).

What a pass cannot tell on its own is why it ended. A replica may answer a short or empty
page before the real end, and a list that changes while it is read shifts every later entry,
so an entry can be skipped with no repeat at all. That is why `complete` here only means "no
gap the pages themselves show": the poll (`snapshot.py`) never believes an absence on the
strength of one pass. A pass asked to `confirm_end` re-reads the last position it saw until
that many answers agree the list ends there, and reads on wherever one shows more.
"""

from __future__ import annotations

from array import array
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from watcher import progress
from watcher.errors import PlatformError
from watcher.platforms.base import Listing, Members, Profile

FetchPage = Callable[[int, int], Awaitable[list[Profile]]]

# A list longer than this is a runaway server, not a real account.
MAX_POSITIONS = 20_000_000
NO_COUNT = -1  # the sort key of an entry without a follower count
# An empty list is the claim that costs most when wrong: it is always read this many times more.
EMPTY_CONFIRMATIONS = 2
# Answers to an end probe that contradict what the pass already read (an empty answer where
# an entry was seen): past this many, the end is left unconfirmed and the pass incomplete.
MAX_CONTRADICTIONS = 6


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
    the keys of the tie groups in which an entry repeated, and whether its end held up."""

    number: int
    keys: array[int] = field(default_factory=lambda: array("q"))
    repeated_keys: set[int] = field(default_factory=set)
    end_confirmed: bool = True


def _sort_key(profile: Profile) -> int:
    return profile.follower_count if profile.follower_count is not None else NO_COUNT


class _Reader:
    """One round of passes over one list: fetches pages and records what they show."""

    def __init__(
        self, fetch: FetchPage, page_size: int, listing: Listing, rereads: int, at_least: int
    ) -> None:
        self._fetch = fetch
        self._page_size = page_size
        self._listing = listing
        # The pass number under which re-read positions are recorded: never a repeat.
        self._rereads = rereads
        # The most positions any pass of this round (or another read the caller vouches for)
        # has read: a pass that claims to end before it contradicts what was seen.
        self.furthest = at_least

    async def page(self, offset: int, limit: int) -> list[Profile]:
        page = await self._fetch(offset, limit)
        self._listing.pages += 1
        self._listing.requests += 1
        progress.page_fetched(len(page))
        if len(page) > limit:
            raise PlatformError(f"a page returned {len(page)} entries where {limit} were asked")
        return page

    def take(self, seen: _Pass, entries: Sequence[Profile]) -> None:
        """Record entries as the next positions of the pass."""
        seen.keys.extend([_sort_key(entry) for entry in entries])
        for repeat in self._listing.members.add_page(entries, seen.number):
            seen.repeated_keys.add(_sort_key(repeat))

    def reread(self, entries: Sequence[Profile]) -> None:
        """Record entries read again at positions the pass already holds (presence only)."""
        self._listing.members.add_page(entries, self._rereads)

    async def full_pass(self, number: int, expected: int | None, confirm_end: int) -> _Pass:
        """One pass from offset 0 until a short page whose end holds up.

        An unconfirmed pass may stop at a full page where the account's own count says the
        list ends: one request less on a quiet poll. Nothing is believed absent on that
        strength (see snapshot.py); a confirmed pass always reads to a short page.
        """
        seen = _Pass(number)
        offset = 0
        while True:
            page = await self.page(offset, self._page_size)
            self.take(seen, page)
            if len(page) == self._page_size:
                if not confirm_end and expected is not None and len(seen.keys) == expected:
                    self.furthest = max(self.furthest, len(seen.keys))
                    return seen
                offset += self._page_size
                if offset > MAX_POSITIONS:
                    raise PlatformError(f"list does not end after {MAX_POSITIONS} entries")
                continue
            needed = confirm_end if seen.keys else max(confirm_end, EMPTY_CONFIRMATIONS)
            if len(seen.keys) < self.furthest:
                needed = max(needed, 1)  # ends before an earlier pass did: check it
            resume = await self.confirm_end(seen, needed)
            if resume is None:
                self.furthest = max(self.furthest, len(seen.keys))
                return seen
            offset = resume

    async def confirm_end(self, seen: _Pass, needed: int) -> int | None:
        """Re-read the last position until `needed` answers show nothing after it.

        Returns None when the end held up (or could not be settled: `end_confirmed` False),
        or the offset to read on from when an answer showed the list goes further (its
        entries are recorded). The probe overlaps the last entry, so an answer short of the
        truth (empty where an entry was seen, or ending before an earlier pass of this round
        read) is recognised as such and not counted.
        """
        confirmed = contradictions = 0
        while confirmed < needed:
            end = len(seen.keys)
            start = end - 1 if end else 0
            probe = await self.page(start, self._page_size)
            contradicted = bool(end) and not probe  # empty where an entry was seen
            if contradicted or (len(probe) <= (1 if end else 0) and end < self.furthest):
                contradictions += 1
                if contradictions > MAX_CONTRADICTIONS:
                    seen.end_confirmed = False
                    return None
                continue
            rest = probe
            if end:
                self.reread(probe[:1])
                rest = probe[1:]
            if not rest:
                confirmed += 1
                continue
            self.take(seen, rest)
            if len(probe) == self._page_size:
                return start + self._page_size
            confirmed = 0
        return None

    async def repair(self, seen: _Pass, groups: list[_Group], rounds: int) -> bool:
        """Re-fetch only the positions of tie groups with repeats; True when every gap closed."""
        for _ in range(rounds):
            broken = [group for group in groups if group.missing > 0]
            if not broken:
                return True
            for group in broken:
                key = seen.keys[group.start]
                offset = group.start
                while offset <= group.end:
                    limit = min(self._page_size, group.end - offset + 1)
                    page = await self.page(offset, limit)
                    self._listing.repairs += 1
                    self.reread(page)
                    group.seen.update(entry.id for entry in page if _sort_key(entry) == key)
                    offset += limit
        return all(group.missing <= 0 for group in groups)


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


async def collect_by_offset(
    fetch: FetchPage,
    page_size: int,
    max_passes: int,
    members: Members | None = None,
    expected: int | None = None,
    *,
    confirm_end: int = 0,
    at_least: int = 0,
) -> Listing:
    """Read a whole offset-paged list; `listing.complete` says no gap showed in the pages.

    `expected` is the list's length as the account's profile counts it, when known;
    `confirm_end` how many more answers must agree where the list ends (see `confirm_end`);
    `at_least` how many positions another read has just shown (an end before it is doubted).
    Each call is a round of its own in `members`: entries pooled from an earlier round are
    never taken for repeats.
    """
    listing = Listing() if members is None else Listing(members=members)
    listing.members.begin_round()
    reader = _Reader(fetch, page_size, listing, 2 * max_passes + 1, at_least)
    for number in range(1, max_passes + 1):
        seen = await reader.full_pass(number, expected, confirm_end)
        listing.passes += 1
        listing.positions = len(seen.keys)
        if not seen.end_confirmed:
            continue  # the end would not settle: read the whole list again
        if not seen.repeated_keys:
            listing.complete = True
            return listing
        groups = _broken_groups(seen, listing.members)
        if groups is not None and await reader.repair(seen, groups, max_passes):
            listing.complete = True
            return listing
        # Counts moved mid-pass or the repeats would not close: another full pass, pooled.
    listing.complete = False
    return listing
