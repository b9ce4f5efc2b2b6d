"""The simulator's cache of per-replica list orders (watcher.sim.ordering)."""

from __future__ import annotations

from watcher.sim.graph import Graph
from watcher.sim.ordering import ReplicaOrders


def _world(lists: int, size: int) -> Graph:
    """`lists` owners (users 1..lists), each following `size` of a pool with tied counts."""
    graph = Graph()
    graph.append(None, None, 0, 0)  # integer 0 is no one
    owners = [graph.append(f"owner{i}", None, 0, 0) for i in range(lists)]
    pool = [graph.append(f"artist{i}", None, i % 4, 0) for i in range(size * 2)]
    for n, owner in enumerate(owners):
        graph.follow_new(owner, pool[n % size : n % size + size])
    return graph


def test_lists_dropped_past_the_member_budget_come_back_in_the_same_order() -> None:
    graph = _world(lists=12, size=40)
    roomy = ReplicaOrders(graph, replicas=3, seed=5)
    tight = ReplicaOrders(graph, replicas=3, seed=5, max_members=100)  # 2 lists' worth
    owners = range(1, 13)
    first = {(o, r): list(tight.ordered(o, "following", r)) for o in owners for r in range(3)}
    again = {(o, r): list(tight.ordered(o, "following", r)) for o in owners for r in range(3)}
    expected = {(o, r): list(roomy.ordered(o, "following", r)) for o in owners for r in range(3)}
    assert first == again == expected
    assert all(len(order) == 40 for order in expected.values())
    assert expected[(1, 0)] != expected[(1, 1)]  # replicas do break ties differently


def test_a_list_larger_than_the_budget_is_still_served_and_patched() -> None:
    graph = _world(lists=1, size=40)
    orders = ReplicaOrders(graph, replicas=1, seed=5, max_members=10)
    owner, member = 1, graph.size - 1  # the pool's last user is not in the list
    before = orders.ordered(owner, "following", 0)
    graph.follow(owner, member)
    orders.insert(owner, "following", member)
    after = orders.ordered(owner, "following", 0)
    assert after is before  # kept: the newest list is never dropped
    assert len(after) == 41 and after == ReplicaOrders(graph, 1, seed=5).ordered(
        owner, "following", 0
    )
