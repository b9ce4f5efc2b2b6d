"""The value types every config section is built of: bounded numbers and durations, http URLs,
event type lists, and the strict base model.

Apart from `config.py` so that each platform and notifier kind can declare its own section
with them (config.py assembles the sections from the kinds, so it cannot be imported by them).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from watcher.durations import parse_duration, shown, spell_duration

EVENT_TYPES = ("following.added", "following.removed", "follower.added", "follower.removed")
# Failure alerts: a watch failing several polls in a row, then polling cleanly again.
ALERT_TYPES = ("watch.failing", "watch.recovered")
# What signals record (signals/registry.py has a kind for each).
SIGNAL_TYPES = ("signal.trending",)
_DAY = 86_400.0


class _Within:
    """A number's allowed range, checked on the value as written, so the error can show both.

    Every duration and rate has an upper and a lower bound: `inf`, `1e308` or `1e-300` would
    otherwise reach a timedelta that overflows or a wait that never ends.
    """

    def __init__(
        self, low: float, high: float, *, kind: Literal["duration", "number", "integer"]
    ) -> None:
        self.low, self.high, self.kind = low, high, kind
        spell = spell_duration if kind == "duration" else _spell_number
        self.range = f"from {spell(low)} to {spell(high)}"

    def __call__(self, value: object) -> float | int:
        number = self._number(value)
        if not self.low <= number <= self.high:
            raise ValueError(f"must be {self.range} (got {shown(value)})")
        return number

    def _number(self, value: object) -> float | int:
        if self.kind == "duration":
            if isinstance(value, float | int) and not math.isfinite(_as_float(value)):
                raise ValueError(f"must be {self.range} (got {shown(value)})")
            try:
                return parse_duration(value)  # type: ignore[arg-type]
            except ValueError as exc:
                raise ValueError(f"{exc}; must be {self.range}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            wanted = "an integer" if self.kind == "integer" else "a number"
            raise ValueError(f"must be {wanted} {self.range} (got {shown(value)})")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"must be a finite number {self.range} (got {shown(value)})")
        if self.kind == "integer" and not isinstance(value, int):
            if not value.is_integer():
                raise ValueError(f"must be a whole number {self.range} (got {shown(value)})")
            return int(value)
        return value


def _as_float(value: float | int) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float
        return math.inf


def _spell_number(value: float) -> str:
    """`10000`, `0.01`, `1000000000000`: whole numbers in full, as a config file writes them."""
    if float(value).is_integer() and abs(value) < 1e16:
        return str(int(value))
    return f"{value:g}"


def duration(low: float, high: float) -> BeforeValidator:
    return BeforeValidator(_Within(low, high, kind="duration"))


def number(low: float, high: float) -> BeforeValidator:
    return BeforeValidator(_Within(low, high, kind="number"))


def integer(low: int, high: int) -> BeforeValidator:
    return BeforeValidator(_Within(low, high, kind="integer"))


Interval = Annotated[float, duration(0.1, 30 * _DAY)]
Jitter = Annotated[float, duration(0, _DAY)]
Timeout = Annotated[float, duration(0.01, 3600)]
ConfirmAfter = Annotated[float, duration(0, _DAY)]
Rate = Annotated[float, number(0.01, 10_000)]
Concurrency = Annotated[int, integer(1, 64)]
# Requests a platform allows in a period; 0 means no quota.
Quota = Annotated[int, integer(0, 10_000_000_000)]
# The share of each quota the planner keeps unspent.
Reserve = Annotated[float, number(0, 0.5)]
# How a poll decides whether to read the list: always ("full"), or only when the watched
# relation's count moved, at least every `full_every`-th poll ("counts"; see quiet_check.py).
Check = Literal["full", "counts"]
FullEvery = Annotated[int, integer(1, 1000)]


class Strict(BaseModel):
    # allow_inf_nan: a float the ranges above do not guard is still never inf or nan.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def require_http(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


def check_event_types(value: list[str] | None) -> list[str] | None:
    known = (*EVENT_TYPES, *ALERT_TYPES, *SIGNAL_TYPES)
    if value is not None:
        for item in value:
            if item not in known:
                raise ValueError(f"unknown event type {item!r} (known: {', '.join(known)})")
    return value
