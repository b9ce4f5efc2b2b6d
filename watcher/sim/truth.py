"""The ground truth both simulators keep: who really follows whom, now and at any past
moment, so that tests and the bench compare every event watcher recorded with what happened.

A simulator keeps its accounts in a `Graph` (numbers), its changes in a `History`, guards both
with one lock, and names accounts by its platform's ids; it says how in `_encode`, `_number`
and `_listed`.
"""

from __future__ import annotations

import threading

from watcher.sim.graph import HIDDEN, Graph, Relation
from watcher.sim.history import Change, History


class GroundTruth:
    _lock: threading.RLock
    _graph: Graph
    _history: History

    def _encode(self, number: int) -> str:
        """The platform's id of account `number`."""
        raise NotImplementedError

    def _number(self, user: str) -> int:
        """The number of an existing account id (deleted included); KeyError otherwise."""
        raise NotImplementedError

    def _listed(self, user: str, relation: Relation) -> list[str]:
        """`user`'s list as a complete, honest read would show it now."""
        raise NotImplementedError

    def following(self, user: str) -> list[str]:
        """Whom `user` follows, as a complete read would show it (visible accounts only)."""
        return self._listed(user, "following")

    def followers(self, user: str) -> list[str]:
        return self._listed(user, "followers")

    def now(self) -> float:
        """The simulated time: the clock's reading, never going backwards."""
        with self._lock:
            return self._history.now()

    def history(self) -> list[Change]:
        """Every effective change made through this simulator's methods (mid-read changes
        included), oldest first, accounts by their platform ids; no-ops are left out."""
        with self._lock:
            return self._history.changes(self._encode)

    def state_at(self, user: str, relation: Relation, t: float) -> frozenset[str]:
        """The true members of `user`'s `following` / `followers` at time `t` (after every
        change made at or before `t`), hidden accounts included."""
        if relation not in ("following", "followers"):
            raise ValueError(f"relation must be following or followers, not {relation!r}")
        with self._lock:
            number = self._number(user)
            present = self._graph.edges(relation).members(number)
            members = self._history.members_at(number, relation, t, present)
            return frozenset(self._encode(member) for member in members)

    def visible_at(self, user: str, t: float) -> bool:
        """Whether lists showed `user` at time `t`: not hidden (deactivated, deleted) then."""
        with self._lock:
            number = self._number(user)
            return not self._history.flags_at(number, t, self._graph.flags[number]) & HIDDEN
