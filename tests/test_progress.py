"""Progress bars: one live line per large poll on a terminal, nothing at all anywhere else."""

from __future__ import annotations

import asyncio
import io
import itertools
from collections.abc import Iterator

import pytest

from tests.world import AudiusWorld
from watcher import progress
from watcher.http.retry import RetryPolicy
from watcher.runtime import Runtime

# Wider than any line these tests check, whatever terminal runs them (COLUMNS may be 70).
WIDTH = 120


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def a_real_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TERM", "xterm-256color")
    yield


def test_a_dumb_terminal_gets_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    with progress.showing(FakeTty(), width=WIDTH) as board:
        assert board is None


def test_a_large_listing_shows_pages_entries_and_rate_then_clears() -> None:
    tty = FakeTty()
    with progress.showing(tty, width=WIDTH) as board:
        assert board is not None
        with progress.track("audius curator following", total=250):
            progress.page_fetched(100)
            assert tty.getvalue() == ""  # one page: too small to be worth a bar
            progress.page_fetched(100)
            drawn = tty.getvalue()
        cleared = tty.getvalue()
    assert "audius curator following  [" in drawn
    assert "200/250 entries, 2 pages" in drawn and "/s" in drawn
    assert cleared.endswith("\x1b[1F\x1b[J")  # the finished bar's line is wiped


def test_concurrent_polls_get_one_line_each() -> None:
    tty = FakeTty()
    ticks = itertools.count(0.0, 1.0)  # a second between changes: each one is redrawn
    with progress.showing(tty, width=WIDTH, clock=lambda: next(ticks)) as board:
        assert board is not None
        first, second = board.add("first", None), board.add("second", 1000)
        for _ in range(2):
            first.page(50)
            second.page(100)
        lines = tty.getvalue().rsplit("\x1b[J", 1)[1].splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("first  100 entries, 2 pages")
    assert lines[1].startswith("second  [####") and "200/1000 entries" in lines[1]


def test_nothing_is_written_when_the_stream_is_not_a_terminal() -> None:
    pipe = io.StringIO()
    with progress.showing(pipe, width=WIDTH) as board:
        assert board is None
        with progress.track("x", total=10):
            for _ in range(5):
                progress.page_fetched(100)
    assert pipe.getvalue() == ""


def test_page_reports_outside_any_tracked_poll_go_nowhere() -> None:
    progress.page_fetched(100)  # no board, no hook: must simply do nothing


def test_a_real_poll_of_a_long_list_drives_its_bar_through_the_paging_helper(
    audius: AudiusWorld,
) -> None:
    sim = audius.sim
    sim.follow_many(sim.add_user(handle="curator"), sim.add_users(450, prefix="artist"))
    audius.watches.append({"platform": "audius", "account": "curator"})
    config = audius.config()
    tty = FakeTty()

    async def poll() -> bool:
        engine = Runtime(config, audius.store(), retry=RetryPolicy.immediate(2))
        try:
            return (await engine.poll(config.watch[0])).ok
        finally:
            await engine.aclose()
            engine.store.close()

    with progress.showing(tty, width=WIDTH):
        assert asyncio.run(poll())
    shown = tty.getvalue()
    assert "audius curator following  [" in shown
    assert "/450 entries" in shown and "pages" in shown
