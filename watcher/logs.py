"""Log setup: readable lines on a terminal, JSON lines for collectors, never a secret, and
one line per record.

Every line passes through `redaction.redact` on its way out, whatever logger wrote it (ours,
httpx, apscheduler, apprise), and through `printable`: a handle or an error text holding a
newline or a terminal escape cannot forge a line or drive the terminal. A traceback, when
there is one, follows on its own lines (text) or in the record's `exception` field (JSON).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from watcher.printable import json_line, printable
from watcher.redaction import (
    MASK,
    REDACTOR,
    redact,
    register_config_secrets,
    register_secret,
    secret_values,
)

__all__ = [
    "MASK",
    "REDACTOR",
    "JsonFormatter",
    "LogFormat",
    "TextFormatter",
    "redact",
    "register_config_secrets",
    "register_secret",
    "secret_values",
    "setup",
]

LogFormat = Literal["text", "json"]
_HANDLER_NAME = "watcher"  # ours, replaced on a second setup; other handlers are left alone

# Attributes every LogRecord has; anything else was passed with `extra=` and goes into JSON.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class TextFormatter(logging.Formatter):
    """`2026-11-22 12:00:00 INFO message` on one line, then the traceback if any, all redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        when = self.formatTime(record, self.datefmt)
        line = f"{when} {record.levelname} {printable(redact(record.getMessage()))}"
        if record.exc_info:
            trace = redact(self.formatException(record.exc_info))
            line += "\n" + "\n".join(printable(part) for part in trace.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = _safe(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json_line(json.dumps(entry, ensure_ascii=False, default=lambda v: redact(str(v))))


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_safe(item) for item in value]
    return redact(str(value))


def setup(fmt: LogFormat = "text", level: str = "info", stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (stderr) in `fmt`, redacted; replaces earlier setup."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries' own chatter: httpx logs every request URL at INFO, which is noise at best.
    for noisy in ("httpx", "httpcore", "apscheduler", "apprise"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
