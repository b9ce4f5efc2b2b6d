"""The paging algorithm on its own, against an in-process list served by disagreeing replicas.

The same behaviour is pinned end to end over HTTP in test_audius_watch.py; here many seeds
run in milliseconds, so rare orderings get exercised too.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from watcher.errors import PlatformError
from watcher.offset_paging import collect_by_offset
from watcher.platforms.base import Listing, Members, MemoryMembers, Profile
from watcher.store import ScratchMembers, Store


class Replicated:
    """A list ordered by follower count, each read served by a random replica's tie order."""

    def __init__(self, counts: list[int], replicas: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.entries = [
            Profile(f"u{i}", f"h{i}", f"n{i}", "", count) for i, count in enumerate(counts)
        ]
        self.orders = []
        for _ in range(replicas):
            keys = {e.id: self.rng.random() for e in self.entries}
            self.orders.append(
                sorted(self.entries, key=lambda e: (-(e.follower_count or 0), keys[e.id]))
            )
        self.requests = 0

    async def fetch(self, offset: int, limit: int) -> list[Profile]:
        self.requests += 1
        return self.rng.choice(self.orders)[offset : offset + limit]


class ShortReplica(Replicated):
    """Distinct counts; the answers listed in `short` (by request number) are cut short."""

    def __init__(self, size: int, short: dict[int, int]) -> None:
        super().__init__(list(range(10 * size, 0, -10)), replicas=1, seed=0)
        self.short = short

    async def fetch(self, offset: int, limit: int) -> list[Profile]:
        number = self.requests
        page = await super().fetch(offset, limit)
        return page[: self.short[number]] if number in self.short else page


Collect = Callable[..., Listing]


@pytest.fixture(params=["memory", "table", "spilled-midway"])
def collect(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Collect]:
    """The algorithm over both places a listing can collect into: a dict, a scratch table."""
    store = Store.open(tmp_path / "w.db")

    def run(
        source: Replicated | ShortReplica,
        max_passes: int = 4,
        expected: int | None = None,
        confirm_end: int = 0,
    ) -> Listing:
        members: Members = (
            MemoryMembers()
            if request.param == "memory"
            else store.listings.scratch(memory_limit=0 if request.param == "table" else 150)
        )
        return asyncio.run(
            collect_by_offset(
                source.fetch, 100, max_passes, members, expected, confirm_end=confirm_end
            )
        )

    yield run
    store.close()


def ids(listing: Listing) -> set[str]:
    members = listing.members
    if isinstance(members, ScratchMembers):
        return {i for i in (f"u{n}" for n in range(5000)) if i in members}
    assert isinstance(members, MemoryMembers)
    return set(members.profiles)


def test_a_list_without_ties_costs_exactly_one_pass(collect: Collect) -> None:
    source = Replicated(list(range(1000, 0, -4)), replicas=3, seed=1)  # 250 distinct counts
    listing = collect(source)
    assert listing.complete
    assert listing.passes == 1 and source.requests == 3
    assert len(listing.members) == 250


@pytest.mark.parametrize("seed", range(40))
def test_ties_across_page_boundaries_are_repaired_into_the_exact_list(
    seed: int, collect: Collect
) -> None:
    rng = random.Random(seed)
    counts = sorted(rng.choice([0, 1, 1, 2, 2, 2, 5, 9]) for _ in range(rng.randint(150, 420)))
    source = Replicated(counts, replicas=3, seed=seed)
    listing = collect(source)
    assert listing.complete
    assert ids(listing) == {e.id for e in source.entries}


def test_repair_fetches_only_the_broken_groups_not_whole_passes(collect: Collect) -> None:
    # 300 entries, distinct counts except a group of 40 straddling the first page boundary.
    counts = [1000 + i for i in range(80)] + [500] * 40 + [i for i in range(180)]
    source = Replicated(counts, replicas=4, seed=7)
    listing = collect(source)
    assert listing.complete
    assert ids(listing) == {e.id for e in source.entries}
    assert listing.passes == 1
    assert source.requests <= 3 + 4  # one pass, then at most one request per repair round


def test_a_group_too_large_to_close_leaves_the_listing_incomplete(collect: Collect) -> None:
    source = Replicated([0] * 3000, replicas=3, seed=3)  # one tie group of 3,000
    listing = collect(source, max_passes=1)
    assert not listing.complete


def test_an_empty_list_is_read_three_times_before_it_is_believed(collect: Collect) -> None:
    source = Replicated([], replicas=2, seed=1)
    listing = collect(source)
    assert listing.complete and len(listing.members) == 0 and source.requests == 3


def test_a_page_longer_than_asked_is_an_error() -> None:
    async def oversized(offset: int, limit: int) -> list[Profile]:
        return [Profile(f"x{i}", "h", "n", "", 1) for i in range(limit + 1)]

    with pytest.raises(PlatformError, match="101 entries where 100 were asked"):
        asyncio.run(collect_by_offset(oversized, 100, 2))


def test_a_count_that_matches_a_full_last_page_saves_the_empty_page(collect: Collect) -> None:
    source = Replicated(list(range(1000, 0, -5)), replicas=2, seed=4)  # 200 distinct counts
    listing = collect(source, expected=200)
    assert listing.complete and len(listing.members) == 200
    assert source.requests == 2  # pages 0-99 and 100-199; no empty third page


def test_a_count_that_disagrees_still_reads_to_the_short_page(collect: Collect) -> None:
    source = Replicated(list(range(1000, 0, -5)), replicas=2, seed=4)
    listing = collect(source, expected=207)  # deactivated followees count but are not listed
    assert listing.complete and len(listing.members) == 200
    assert source.requests == 3


def test_an_end_to_confirm_costs_exactly_that_many_more_answers(collect: Collect) -> None:
    source = ShortReplica(250, {})
    listing = collect(source, confirm_end=2, expected=250)
    assert listing.complete and len(listing.members) == 250
    assert source.requests == 3 + 2  # the pages to the short one, then two probes of its end


def test_an_unconfirmed_pass_believes_a_short_page_that_lies(collect: Collect) -> None:
    source = ShortReplica(250, {1: 0})  # the page at offset 100 comes back empty
    listing = collect(source)
    assert len(listing.members) == 100 and source.requests == 2


@pytest.mark.parametrize("cut", [0, 1, 57, 99])
def test_a_short_page_before_the_end_is_read_past_when_the_end_is_confirmed(
    collect: Collect, cut: int
) -> None:
    source = ShortReplica(250, {1: cut})  # the page at offset 100 comes back short
    listing = collect(source, confirm_end=2)
    assert listing.complete and ids(listing) == {e.id for e in source.entries}


def test_probes_that_lie_as_well_are_recognised_by_the_entry_they_lack(collect: Collect) -> None:
    # Offset 100 empty, then the probes of position 99 empty too: they contradict the entry
    # already read there, so they are not taken as agreeing that the list ends.
    source = ShortReplica(250, {1: 0, 2: 0, 3: 0, 4: 0})
    listing = collect(source, confirm_end=2)
    assert listing.complete and ids(listing) == {e.id for e in source.entries}


def test_an_end_that_never_settles_leaves_the_listing_incomplete(collect: Collect) -> None:
    source = ShortReplica(250, {n: 0 for n in range(1, 400)})  # every answer after the first
    listing = collect(source, confirm_end=2, max_passes=2)
    assert not listing.complete


def test_a_confirmed_end_ignores_the_count(collect: Collect) -> None:
    source = ShortReplica(250, {})
    listing = collect(source, confirm_end=1, expected=100)  # a count gone stale: 100 of 250
    assert listing.complete and len(listing.members) == 250
