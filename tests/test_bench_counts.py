"""Scenario 9's measure (bench/counts.py) keeps its targets: they count requests and polls,
not time, so a test can hold them."""

from __future__ import annotations

from bench.counts import measure_check


def test_a_counts_check_costs_a_quarter_of_the_reads_and_delays_a_pair_by_the_cycle() -> None:
    full = measure_check("full", 500, 12)
    counts = measure_check("counts", 500, 12)
    assert full.quiet_requests == [6] * 12  # a profile, 5 pages of 100, none past the count
    assert counts.quiet_requests == [1, 1, 1, 6] * 3
    assert full.false_events == counts.false_events == 0
    assert [(p.follow, p.unfollow) for p in full.pairs] == [(1, 2)] * 4
    assert [(p.follow, p.unfollow) for p in counts.pairs] == [(4, 5), (3, 4), (2, 3), (1, 2)]
