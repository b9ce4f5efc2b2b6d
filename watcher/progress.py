"""Progress of long polls on a terminal: one live line per large poll, nothing otherwise.

Platform-neutral by construction: paging helpers call `page_fetched(entries)` after each page,
and that call goes wherever the current task's context says (nowhere, unless a terminal
command opened a `ProgressBoard` and the engine wrapped the listing in `track`, or the engine
listens with `on_page`). So platform
clients keep their signatures, and the daemon and pipes never pay for a progress bar.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TextIO

PageHook = Callable[[int], None]

# A list that fits in one page is done before a bar would help; show bars from the 2nd page.
MIN_PAGES = 2
REDRAW_EVERY = 0.1  # seconds: a terminal does not need more, and writes are not free
BAR_WIDTH = 24

_page_hook: ContextVar[PageHook | None] = ContextVar("watcher_page_hook", default=None)
_board: ContextVar[ProgressBoard | None] = ContextVar("watcher_progress_board", default=None)


def page_fetched(entries: int) -> None:
    """Tell whoever watches this task's listing that one more page came, with `entries`."""
    hook = _page_hook.get()
    if hook is not None:
        hook(entries)


@contextmanager
def on_page(hook: PageHook) -> Iterator[None]:
    """Also call `hook` for each page fetched inside this block (the engine renews a poll's
    lease on it), beside whatever already listens."""
    token = _page_hook.set(_chain(_page_hook.get(), hook))
    try:
        yield
    finally:
        _page_hook.reset(token)


@contextmanager
def track(label: str, total: int | None) -> Iterator[None]:
    """Show a bar for the pages fetched inside this block, if a board is open; else nothing."""
    board = _board.get()
    if board is None:
        yield
        return
    bar = board.add(label, total)
    token = _page_hook.set(_chain(_page_hook.get(), bar.page))
    try:
        yield
    finally:
        _page_hook.reset(token)
        board.remove(bar)


def _chain(first: PageHook | None, then: PageHook) -> PageHook:
    if first is None:
        return then

    def both(entries: int) -> None:
        first(entries)
        then(entries)

    return both


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


@contextmanager
def showing(
    stream: TextIO,
    *,
    width: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[ProgressBoard | None]:
    """Open a board on `stream` for the tasks started inside this block, if it is a terminal.

    `width`: the columns a line may take; None asks the terminal at each redraw.
    """
    if not is_terminal(stream):
        yield None
        return
    board = ProgressBoard(stream, width=width, clock=clock)
    token = _board.set(board)
    try:
        yield board
    finally:
        _board.reset(token)
        board.close()


@dataclass(eq=False)
class Bar:
    """One poll's listing: pages and entries so far, against the profile's count if known."""

    label: str
    total: int | None
    board: ProgressBoard
    pages: int = 0
    entries: int = 0
    started: float = field(default_factory=time.monotonic)

    def page(self, entries: int) -> None:
        self.pages += 1
        self.entries += entries
        self.board.changed()

    def render(self, width: int) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.entries / elapsed
        if self.total:
            done = min(self.entries / self.total, 1.0)
            filled = int(done * BAR_WIDTH)
            gauge = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.entries}/{self.total}"
        else:
            gauge = f"{self.entries}"
        line = f"{self.label}  {gauge} entries, {self.pages} pages, {rate:.0f}/s"
        return line[: max(width - 1, 10)]


class ProgressBoard:
    """The live block of bars at the bottom of a terminal, redrawn in place (ANSI)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        clock: Callable[[], float] = time.monotonic,
        width: int | None = None,
    ) -> None:
        self._stream = stream
        self._clock = clock
        self._width = width
        self._bars: list[Bar] = []
        self._drawn = 0  # lines of the block currently on screen, the cursor just below them
        self._last = -REDRAW_EVERY

    def add(self, label: str, total: int | None) -> Bar:
        bar = Bar(label, total, self)
        self._bars.append(bar)
        return bar

    def remove(self, bar: Bar) -> None:
        if bar in self._bars:
            self._bars.remove(bar)
            self._draw()

    def changed(self) -> None:
        now = self._clock()
        if now - self._last >= REDRAW_EVERY and self._draw():
            self._last = now

    def close(self) -> None:
        self._bars.clear()
        self._draw()

    def _draw(self) -> bool:
        """Redraw the block; False when there was nothing to show (and nothing shown)."""
        visible = [bar for bar in self._bars if bar.pages >= MIN_PAGES]
        if not visible and not self._drawn:
            return False
        width = self._width or shutil.get_terminal_size((100, 24)).columns
        out = f"\x1b[{self._drawn}F" if self._drawn else "\r"
        out += "\x1b[J"  # clear the old block, whatever its height
        out += "".join(bar.render(width) + "\n" for bar in visible)
        self._stream.write(out)
        self._stream.flush()
        self._drawn = len(visible)
        return True
