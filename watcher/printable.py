"""Strangers' text made safe where people read it.

Handles, display names and error texts come from other people's servers. Shown raw, a newline
forges a line in a cron log, and an escape sequence retitles or clears the terminal. Every
line watcher prints or logs passes through `printable`, which writes such characters as
visible escapes (`\\n`, `\\x1b`, `\\u202e`), so a line stays one line and says what it held.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional controls that
# reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` as one line with nothing a terminal would act on."""
    return _UNSAFE.sub(_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


# What `json.dumps(..., ensure_ascii=False)` leaves raw that a terminal would still act on.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_line(dumped: str) -> str:
    """A JSON document (from `json.dumps`) with the characters a terminal acts on escaped:
    still the same JSON value, still one line."""
    return _JSON_UNSAFE.sub(_json_escape, dumped)
