"""`check = "counts"` against ground truth: the scenarios of test_snapshot_truth.py (random
churn, every count adversity, lag, lists changing while read, quiet stretches), polled with a
counts check. Every recorded event really happened, none twice, none lost, and each change
shows at most `full_every - 1` polls later than a full check shows it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_snapshot_truth import (
    DEFAULT_WITHIN,
    MODES_UNDER_TEST,
    WITHIN_POLLS,
    World,
    check_events_are_true_and_single,
    play,
    polls_to_show,
)

FULL_EVERY = 4
MODES = ("honest", "counts_stale", "counts_low", "counts_high", "counts_zero", "lag")
SCENARIOS = [(mode, seed) for mode in MODES for seed in (1, 2)] + [
    (mode, seed) for mode in ("mid_read", "mix") for seed in (1, 2, 3)
]


@pytest.mark.parametrize(("mode", "seed"), SCENARIOS)
def test_a_counts_check_records_only_true_events_and_loses_none(
    mode: str, seed: int, tmp_path: Path
) -> None:
    run = play(
        World(seed, MODES_UNDER_TEST[mode]),
        tmp_path / "watcher.db",
        {"check": "counts", "full_every": FULL_EVERY},
    )
    check_events_are_true_and_single(run)
    end = run.poll_times[-1]
    truth = run.sim.state_at(run.curator, "following", end)
    wrong = {
        t
        for t in truth | run.after_poll[-1]
        if run.sim.visible_at(t, end) and (t in truth) != (t in run.after_poll[-1])
    }
    assert not wrong, f"lost: {sorted(wrong)}"
    within = WITHIN_POLLS.get(mode, DEFAULT_WITHIN) + FULL_EVERY - 1
    assert polls_to_show(run) <= within, f"{mode}: a change took more than {within} polls"
    skipped = sum(1 for r in run.reports if r.counts_only)
    if mode == "counts_zero":
        assert skipped == 0  # a 0 beside stored members is never taken for "unchanged"
    else:
        assert skipped >= len(run.reports) // 4  # the check does save reads
