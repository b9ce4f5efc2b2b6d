"""Human durations ("30s", "15m", "2h", "1d", "1h30m") to seconds, and back."""

from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_EXPECTED = "a duration like '30s', '15m' or '2h'"


def parse_duration(text: str | int | float) -> float:
    """Seconds in `text`; a bare number means seconds. Raises ValueError with the reason.

    The result is always finite: `inf`, `nan` and numbers too large for a float are refused
    here, so no caller ever turns one into a timedelta that overflows or a wait that never ends.
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"expected {_EXPECTED}")
    if isinstance(text, int | float):
        seconds = _finite(text, shown(text))
        if seconds < 0:
            raise ValueError("a duration cannot be negative")
        return seconds
    cleaned = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", cleaned):
        return _finite(cleaned, shown(text))
    pos = 0
    total = 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT[match.group(2)]
        pos = match.end()
    if pos != len(cleaned) or not cleaned:
        raise ValueError(f"{shown(text)} is not {_EXPECTED}")
    return _finite(total, shown(text))


def shown(value: object, limit: int = 40) -> str:
    """`value` as a config file would show it, cut short: an error line stays one short line."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return "a huge integer"  # (repr of a very long one would itself fail)
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _finite(value: str | int | float, shown: str) -> float:
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        seconds = math.inf
    if not math.isfinite(seconds):
        raise ValueError(f"{shown} is not a finite duration")
    return seconds


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def spell_duration(seconds: float) -> str:
    """A duration as a user would write it in the config ("30d", "1h", "100ms", "0s")."""
    for unit in ("d", "h", "m", "s", "ms"):
        count = seconds / _UNIT[unit]
        if count >= 1 and count == int(count):
            return f"{int(count)}{unit}"
    return f"{seconds:g}s"
