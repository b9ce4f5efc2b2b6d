"""List order as the real Audius serves it: `follower_count DESC` with no tie-breaker.

Every request goes to a randomly chosen database replica, and each replica breaks ties in its
own fixed, arbitrary way. We model a replica's tie order as a random 32-bit key per user
(drawn from a per-replica seeded stream when the user is created), so the order a replica
gives is a plain sort by (-count, key, user).

Sorting a million followers takes about a second, so sorted lists are cached per
(owner, relation) and replica, and patched in place (bisect + insert/delete) on every
mutation that can move an entry: a cached list stays equal to a fresh sort at all times.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Set
from contextlib import contextmanager

from watcher.sim.graph import HIDDEN, Graph, Relation

_TIE_SHIFT = 40  # user integers stay below 2**40
_COUNT_SHIFT = 72  # tie key (32 bits) above the user integer
Key = Callable[[int], int]
EntryKey = tuple[int, Relation]


class _Entry:
    """One cached list: its order on each replica, built the first time that replica serves it."""

    __slots__ = ("orders", "size")

    def __init__(self, replicas: int) -> None:
        self.orders: list[list[int] | None] = [None] * replicas
        self.size = 0  # members its orders held when built, over all replicas


class ReplicaOrders:
    """The per-replica orders of every list, cached and kept exact under mutation."""

    def __init__(
        self, graph: Graph, replicas: int, seed: int, max_members: int = 4_000_000
    ) -> None:
        if replicas < 1:
            raise ValueError("at least one replica")
        self._graph = graph
        self._streams = [random.Random(f"{seed}:replica:{r}") for r in range(replicas)]
        self._ties: list[array[int]] = [array("I") for _ in range(replicas)]
        self._entries: OrderedDict[EntryKey, _Entry] = OrderedDict()
        # Least recently used lists go once the cached orders hold more members than this
        # (about 8 bytes each): a fleet of small lists stays cached, like one huge list.
        self._max_members = max_members
        self._held = 0

    @property
    def replicas(self) -> int:
        return len(self._ties)

    def grow(self) -> None:
        """Draw tie keys for users added since the last call (in creation order: deterministic)."""
        for stream, ties in zip(self._streams, self._ties, strict=True):
            missing = self._graph.size - len(ties)
            if missing > 0:
                ties.frombytes(stream.randbytes(missing * ties.itemsize))

    def key(self, replica: int) -> Key:
        """Sort key on `replica`: follower count descending, then the replica's tie key."""
        shown, ties = self._graph.shown, self._ties[replica]

        def key(user: int) -> int:
            return ((ties[user] << _TIE_SHIFT) | user) - (shown[user] << _COUNT_SHIFT)

        return key

    def ordered(self, owner: int, relation: Relation, replica: int) -> list[int]:
        """The visible members of the list, in `replica`'s order (live: do not mutate)."""
        entry = self._entry(owner, relation)
        order = entry.orders[replica]
        if order is None:
            order = entry.orders[replica] = self._build(owner, relation, replica)
            entry.size += len(order)
            self._held += len(order)
            self._trim()
        return order

    def page(
        self, owner: int, relation: Relation, replica: int, offset: int, limit: int
    ) -> list[int]:
        return self.ordered(owner, relation, replica)[offset : offset + limit]

    def shuffled_page(
        self, owner: int, relation: Relation, offset: int, limit: int, rng: random.Random
    ) -> list[int]:
        """A page as if ties were freshly shuffled for this one request.

        The entries at positions [a, b) of a uniformly shuffled tie group are a uniform random
        sample of b - a of its members, so only the sample is drawn, never the whole group.
        """
        order = self.ordered(owner, relation, 0)
        key, shown = self.key(0), self._graph.shown
        end = min(offset + limit, len(order))
        page: list[int] = []
        position = offset
        while position < end:
            count = shown[order[position]]
            start = bisect_left(order, -(count << _COUNT_SHIFT), key=key)
            stop = bisect_left(order, -((count - 1) << _COUNT_SHIFT), key=key)
            take = min(end, stop) - position
            page.extend(order[i] for i in rng.sample(range(start, stop), take))
            position += take
        return page

    def sort(self, members: Iterable[int], replica: int, count: Callable[[int], int]) -> list[int]:
        """`members` in `replica`'s order, by the given follower counts (a lagging replica's)."""
        self.grow()
        ties = self._ties[replica]
        return sorted(
            members, key=lambda u: ((ties[u] << _TIE_SHIFT) | u) - (count(u) << _COUNT_SHIFT)
        )

    @staticmethod
    def shuffle_sort(
        members: Iterable[int], count: Callable[[int], int], rng: random.Random
    ) -> list[int]:
        """`members` by the given counts, descending, ties in an order drawn now from `rng`."""
        keyed = [(-count(u), rng.random(), u) for u in sorted(members)]
        keyed.sort()
        return [u for _, _, u in keyed]

    @contextmanager
    def moving(self, user: int) -> Iterator[None]:
        """Wrap a change to `user`'s count or visibility: out of every cached list it is in
        before the change, back in (at its new place) wherever it belongs after it."""
        self._detach(user)
        try:
            yield
        finally:
            self._attach(user)

    def insert(self, owner: int, relation: Relation, member: int) -> None:
        """`member` has just joined the list (its count unchanged)."""
        entry = self._entries.get((owner, relation))
        if entry is not None and self._graph.visible(member):
            self._insert(entry, member)

    def remove(self, owner: int, relation: Relation, member: int) -> None:
        """`member` is about to leave the list (call before the edge goes)."""
        entry = self._entries.get((owner, relation))
        if entry is not None and self._graph.visible(member):
            self._remove(entry, member)

    def forget(self, lists: Set[EntryKey], touching: Set[int] = frozenset()) -> None:
        """Drop the cached `lists` and every cached list containing a user in `touching`:
        cheaper than patching after a bulk change."""
        edges = self._graph.edges
        doomed = [
            entry_key
            for entry_key in self._entries
            if entry_key in lists
            or (touching and not touching.isdisjoint(edges(entry_key[1]).members(entry_key[0])))
        ]
        for entry_key in doomed:
            self._held -= self._entries.pop(entry_key).size

    def clear(self) -> None:
        self._entries.clear()
        self._held = 0

    def _entry(self, owner: int, relation: Relation) -> _Entry:
        entry_key = (owner, relation)
        entry = self._entries.get(entry_key)
        if entry is None:
            entry = self._entries[entry_key] = _Entry(self.replicas)
        else:
            self._entries.move_to_end(entry_key)
        return entry

    def _trim(self) -> None:
        """Drop the least recently used lists while over the budget, never the newest."""
        while self._held > self._max_members and len(self._entries) > 1:
            _, oldest = self._entries.popitem(last=False)
            self._held -= oldest.size

    def _build(self, owner: int, relation: Relation, replica: int) -> list[int]:
        self.grow()
        flags = self._graph.flags
        members = self._graph.edges(relation).members(owner)
        return sorted((u for u in members if not flags[u] & HIDDEN), key=self.key(replica))

    def _containing(self, user: int) -> Iterator[_Entry]:
        """Cached lists that (should) hold `user`: membership is checked on the owner's side."""
        edges = self._graph.edges
        for (owner, relation), entry in self._entries.items():
            if edges(relation).contains(owner, user):
                yield entry

    def _detach(self, user: int) -> None:
        if self._graph.visible(user):
            for entry in self._containing(user):
                self._remove(entry, user)

    def _attach(self, user: int) -> None:
        if self._graph.visible(user):
            for entry in self._containing(user):
                self._insert(entry, user)

    def _insert(self, entry: _Entry, user: int) -> None:
        for replica, order in enumerate(entry.orders):
            if order is not None:
                insort(order, user, key=self.key(replica))

    def _remove(self, entry: _Entry, user: int) -> None:
        for replica, order in enumerate(entry.orders):
            if order is not None:
                key = self.key(replica)
                index = bisect_left(order, key(user), key=key)
                if index < len(order) and order[index] == user:
                    del order[index]
