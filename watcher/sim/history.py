"""Ground truth over time: every change a simulator made, so tests can ask what was true when.

Property tests compare what a client reported against what really happened: `state_at` gives
a list's true members at any moment, `visible_at` whether an account was listed at all. A
benchmark puts a million follows behind one account, so changes are kept in flat columns
(about 25 bytes each) and turned into `Change` objects only when asked for.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from watcher.sim.graph import Relation

__all__ = ["KINDS", "Change", "History"]

# One code per kind of change, in the `kinds` column.
KINDS = ("follow", "unfollow", "deactivate", "reactivate", "delete", "restore")
FOLLOW, UNFOLLOW = 0, 1
_CODE = {kind: code for code, kind in enumerate(KINDS)}
NO_ONE = 0  # `other` of a change to one account's flags


@dataclass(frozen=True, slots=True)
class Change:
    """One change: `user` follows / unfollows `other`, or `user` is (de/re)activated, deleted or
    restored (`other` is then ""). Ids as the API serves them; `time` from the sim's clock."""

    time: float
    user: str
    other: str
    kind: str


class History:
    """Changes in the order they were made, with times that never go backwards.

    Only effective changes are recorded (a follow of an account already followed is none), so
    undoing the changes after `t` from the present state gives the state at `t` exactly.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last = float("-inf")
        self.times = array("d")
        self.users = array("q")
        self.others = array("q")
        self.kinds = bytearray()
        # Per account, (time, flags before, flags after) of each change to its flags.
        self._flags: dict[int, list[tuple[float, int, int]]] = {}

    def __len__(self) -> int:
        return len(self.kinds)

    def now(self) -> float:
        """The clock, held back from going backwards (a fake clock may be set freely)."""
        self._last = max(self._last, self._clock())
        return self._last

    def record(self, kind: str, user: int, other: int = NO_ONE) -> float:
        """Append one change; returns its time."""
        time = self.now()
        self.times.append(time)
        self.users.append(user)
        self.others.append(other)
        self.kinds.append(_CODE[kind])
        return time

    def record_many(
        self, kind: str, users: Collection[int] | int, others: Collection[int] | int
    ) -> float:
        """Append one change per (user, other) pair, all at one moment (bulk follows); one side
        may be a single account, shared by every pair (cheap for a million follows)."""
        time = self.now()
        sizes = [len(side) for side in (users, others) if not isinstance(side, int)]
        n = sizes[0] if sizes else 1
        for column, side in ((self.users, users), (self.others, others)):
            if isinstance(side, int):
                column.extend(array("q", (side,)) * n)
            else:
                column.extend(array("q", side))
        self.times.extend(array("d", (time,)) * n)
        self.kinds.extend(bytes((_CODE[kind],)) * n)
        return time

    def record_flags(self, kind: str, user: int, before: int, after: int) -> float:
        time = self.record(kind, user)
        self._flags.setdefault(user, []).append((time, before, after))
        return time

    def changes(self, encode: Callable[[int], str]) -> list[Change]:
        return [
            Change(time, encode(user), encode(other) if other != NO_ONE else "", KINDS[kind])
            for time, user, other, kind in zip(
                self.times, self.users, self.others, self.kinds, strict=True
            )
        ]

    def members_at(
        self, owner: int, relation: Relation, t: float, current: Iterable[int]
    ) -> set[int]:
        """The members `owner`'s list had at time `t`, given its `current` members."""
        members = set(current)
        following = relation == "following"
        times, users, others, kinds = self.times, self.users, self.others, self.kinds
        for index in range(len(kinds) - 1, -1, -1):
            if times[index] <= t:
                break
            kind = kinds[index]
            if kind > UNFOLLOW:
                continue
            if following:
                if users[index] != owner:
                    continue
                member = others[index]
            else:
                if others[index] != owner:
                    continue
                member = users[index]
            if kind == FOLLOW:
                members.discard(member)
            else:
                members.add(member)
        return members

    def flags_at(self, user: int, t: float, current: int) -> int:
        """The flags `user` had at time `t`, given its `current` flags."""
        timeline = self._flags.get(user)
        if not timeline:
            return current
        index = bisect_right([time for time, _, _ in timeline], t)
        return timeline[index - 1][2] if index else timeline[0][1]

    def count_changes_since(self, t: float) -> tuple[dict[int, int], dict[int, int]]:
        """(follower count, followee count) moved by the changes after `t`, per account."""
        followers: dict[int, int] = {}
        followees: dict[int, int] = {}
        times, users, others, kinds = self.times, self.users, self.others, self.kinds
        for index in range(len(kinds) - 1, -1, -1):
            if times[index] <= t:
                break
            kind = kinds[index]
            if kind > UNFOLLOW:
                continue
            step = 1 if kind == FOLLOW else -1
            followers[others[index]] = followers.get(others[index], 0) + step
            followees[users[index]] = followees.get(users[index], 0) + step
        return followers, followees
