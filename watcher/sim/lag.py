"""Replication lag: each replica sees each change a little later than the one written to.

Every change reaches replica r at `time + delay`, the delay drawn per change and replica in
[0, lag) with one random replica at 0; a replica applies changes in order (a later change is
never seen before an earlier one), so what a replica shows is always the world as it was at
some moment. A replica's view is the present graph with its unseen changes undone: only the
changes still in flight are kept, and a view costs O(changes in flight), never O(list).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Collection

from watcher.sim.graph import EdgeMap, Relation
from watcher.sim.history import FOLLOW, UNFOLLOW

__all__ = ["FLAG_CHANGE", "ReplicaLag", "ReplicaView"]

FLAG_CHANGE = -1  # the kind of a deactivate / reactivate / delete in the log below

_COMPACT_AT = 1024  # drop applied changes from the front once this many piled up


class ReplicaView:
    """What one replica shows where it differs from the present: the undone changes."""

    __slots__ = ("changed", "edges", "flags", "followees", "shown")

    def __init__(self) -> None:
        self.edges: dict[tuple[int, Relation], dict[int, bool]] = {}  # member present here?
        self.shown: dict[int, int] = {}  # follower count minus the present one
        self.followees: dict[int, int] = {}
        self.flags: dict[int, int] = {}  # the flags this replica still shows
        self.changed: set[int] = set()  # accounts whose count or flags differ here

    def undo_edge(self, kind: int, follower: int, followee: int) -> None:
        present = kind == UNFOLLOW  # before an unfollow, the edge was there
        self.edges.setdefault((follower, "following"), {})[followee] = present
        self.edges.setdefault((followee, "followers"), {})[follower] = present
        step = 1 if present else -1
        self.shown[followee] = self.shown.get(followee, 0) + step
        self.followees[follower] = self.followees.get(follower, 0) + step
        self.changed.update((follower, followee))

    def undo_flags(self, user: int, before: int) -> None:
        self.flags[user] = before
        self.changed.add(user)

    def touches(self, owner: int, relation: Relation, edges: EdgeMap) -> bool:
        """Whether this replica may list, order or render `owner`'s list differently."""
        if (owner, relation) in self.edges:
            return True
        return any(edges.contains(owner, user) for user in self.changed)

    def members(self, owner: int, relation: Relation, present: Collection[int]) -> set[int]:
        members = set(present)
        for member, here in self.edges.get((owner, relation), {}).items():
            if here:
                members.add(member)
            else:
                members.discard(member)
        return members

    def has_edge(self, owner: int, relation: Relation, member: int, present: bool) -> bool:
        return self.edges.get((owner, relation), {}).get(member, present)

    def follower_count(self, user: int, present: int) -> int:
        return present + self.shown.get(user, 0)

    def followee_count(self, user: int, present: int) -> int:
        return present + self.followees.get(user, 0)

    def flags_of(self, user: int, present: int) -> int:
        return self.flags.get(user, present)


class ReplicaLag:
    """The changes some replica has not seen yet, and when each replica sees each one."""

    def __init__(self, replicas: int, seed: int) -> None:
        self._rng = random.Random(f"{seed}:lag")
        self._start = 0  # changes before this one are seen everywhere
        self._kinds: list[int] = []
        self._users: list[int] = []
        self._others: list[int] = []
        self._before: list[int] = []  # flags before a flag change (-1 for follows)
        self._seen: list[list[float]] = [[] for _ in range(replicas)]
        self._views: dict[int, tuple[tuple[int, int], ReplicaView]] = {}

    @property
    def replicas(self) -> int:
        return len(self._seen)

    @property
    def in_flight(self) -> int:
        return len(self._kinds) - self._start

    def record(
        self, lag: float, time: float, kind: int, user: int, other: int = 0, before: int = -1
    ) -> None:
        self._kinds.append(kind)
        self._users.append(user)
        self._others.append(other)
        self._before.append(before)
        first = self._rng.randrange(self.replicas)  # the replica written to
        for replica, seen in enumerate(self._seen):
            delay = 0.0 if replica == first else self._rng.random() * lag
            seen.append(max(time + delay, seen[-1] if seen else time))

    def view(self, replica: int, now: float) -> ReplicaView | None:
        """What `replica` shows at `now` where it differs from the present; None: nothing."""
        self._compact(now)
        seen = self._seen[replica]
        first_unseen = bisect_right(seen, now, lo=self._start)
        if first_unseen == len(seen):
            return None
        key = (first_unseen, len(seen))
        cached = self._views.get(replica)
        if cached is not None and cached[0] == key:
            return cached[1]
        view = ReplicaView()
        for index in range(len(seen) - 1, first_unseen - 1, -1):
            kind = self._kinds[index]
            if kind in (FOLLOW, UNFOLLOW):
                view.undo_edge(kind, self._users[index], self._others[index])
            else:
                view.undo_flags(self._users[index], self._before[index])
        self._views[replica] = (key, view)
        return view

    def _compact(self, now: float) -> None:
        """Forget changes every replica has seen (the present shows them already)."""
        start, end = self._start, len(self._kinds)
        while start < end and all(seen[start] <= now for seen in self._seen):
            start += 1
        self._start = start
        if start >= _COMPACT_AT and start * 2 >= end:
            for column in (self._kinds, self._users, self._others, self._before):
                del column[:start]
            for seen in self._seen:
                del seen[:start]
            self._start = 0
            self._views.clear()
