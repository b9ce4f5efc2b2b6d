"""The daemon's delivery loop: send deliveries as polls commit them and as retries fall due.

Each notifier's deliveries run in a lane of their own (see the dispatcher): this loop only
starts lanes, so a receiver that hangs holds up nobody else's deliveries. It also looks at
least every DISPATCH_IDLE seconds, for rows other processes queued (`watcher redeliver`, a
`watcher once` that found this daemon dispatching).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from asyncio import FIRST_COMPLETED

from watcher.errors import DatabaseProblem
from watcher.sinks.base import one_line
from watcher.sinks.dispatcher import DEAD, DELIVERED, RETRYING, Dispatcher, DispatchReport, Outcome

log = logging.getLogger("watcher")

# The longest the loop waits before looking for due deliveries again.
DISPATCH_IDLE = 15.0
_OUTCOME_LEVELS = {DELIVERED: logging.INFO, RETRYING: logging.WARNING, DEAD: logging.ERROR}


class DeliveryLoop:
    """Runs until `stop` is set; `wake()` says a poll committed deliveries."""

    def __init__(self, dispatcher: Dispatcher, stop: asyncio.Event) -> None:
        self.dispatcher = dispatcher
        self._stop = stop
        self._wake = asyncio.Event()  # a poll committed: its deliveries may be due now
        self._lane_done = asyncio.Event()  # a notifier's lane of deliveries ended

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        dispatcher = self.dispatcher
        report = DispatchReport(listener=self._log_outcome)
        while not self._stop.is_set():
            self._wake.clear()
            try:
                dispatcher.start(report, self._stop.is_set, on_lane_end=self._lane_ended)
            except (sqlite3.Error, DatabaseProblem) as exc:  # locked: the next round retries
                log.warning("dispatching deliveries waits for the database: %s", one_line(str(exc)))
            except Exception:  # a bug must not end delivery for good
                log.exception("dispatching deliveries failed; trying again soon")
            await self._wait_for_work()

    async def finish(self, task: asyncio.Task[None], grace: float) -> None:
        """The loop ends at once; the lanes stop after the send in flight, and past the grace
        they are cancelled (a send cut short is not marked, so it is sent again, with the
        same id, after a restart)."""
        await asyncio.gather(task, return_exceptions=True)
        await self.dispatcher.finish(grace)

    @staticmethod
    def _log_outcome(outcome: Outcome) -> None:
        level = _OUTCOME_LEVELS.get(outcome.state, logging.WARNING)
        log.log(logging.ERROR if outcome.disabled else level, outcome.line())

    def _lane_ended(self, notifier: str, failure: BaseException | None) -> None:
        """A notifier's lane is done: its next retry counts for the next wait again."""
        if failure is not None:
            log.error(
                "dispatching deliveries to %s failed; trying again soon: %s",
                notifier,
                one_line(f"{type(failure).__name__}: {failure}"),
            )
        self._lane_done.set()

    async def _wait_for_work(self) -> None:
        """Until the next delivery no lane is on is due, a poll commits, or the daemon stops.

        A lane ending only changes what is due next: the wait starts over (a retry due at
        once still waits the half-second floor, so a failing lane cannot spin)."""
        dispatcher = self.dispatcher
        while True:
            self._lane_done.clear()
            timeout = DISPATCH_IDLE
            try:
                due = dispatcher.next_due()
            except sqlite3.Error:  # a locked database: look again after the idle wait
                due = None
            if due is not None:
                until = (due - dispatcher.clock.now()).total_seconds()
                timeout = min(max(until, 0.5), DISPATCH_IDLE)
            waits = {
                asyncio.create_task(self._wake.wait()),
                asyncio.create_task(self._stop.wait()),
                asyncio.create_task(self._lane_done.wait()),
            }
            done, pending = await asyncio.wait(waits, timeout=timeout, return_when=FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if not done or self._wake.is_set() or self._stop.is_set():
                return
