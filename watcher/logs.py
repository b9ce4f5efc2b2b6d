"""Log setup: readable lines on a terminal, JSON lines for collectors, and never a secret.

Every line passes through one `Redactor` on its way out, whatever logger wrote it (ours, httpx,
apscheduler, apprise). It hides two kinds of things: the secret values of the running config
(registered at start and on reload: webhook secrets, API keys, client secrets, the token-like
parts of Apprise URLs), and anything that looks like a credential whoever wrote it (URL
userinfo, `whsec_...`, `Bearer ...`/`OAuth ...`, `?client_secret=...`). The same `redact` is
applied to the error lines the CLI prints.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from watcher.sinks.base import redact_url

MASK = "****"
LogFormat = Literal["text", "json"]
_HANDLER_NAME = "watcher"  # ours, replaced on a second setup; other handlers are left alone
# Shorter values are too likely to be ordinary words or numbers to hide everywhere.
MIN_SECRET_LEN = 6
# Config keys whose string values are secrets wherever they appear.
_SECRET_KEY = re.compile(r"(secret|token|password|passwd|api_?key|credential)", re.IGNORECASE)
# Config keys holding notifier URLs, whose hidden parts (ids, tokens) are secrets too.
_URL_KEYS = frozenset({"url", "urls"})

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # user:password@ (or token@) in any URL
    (re.compile(r"(?<=://)[^/\s@?#]+@"), f"{MASK}@"),
    # Standard Webhooks signing secrets
    (re.compile(r"whsec_[A-Za-z0-9+/=_-]+"), f"whsec_{MASK}"),
    # Authorization header values
    (re.compile(r"\b(Bearer|OAuth|Basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE), r"\1 ****"),
    # credentials passed as query or form parameters
    (
        re.compile(
            r"(?<![A-Za-z0-9_])((?:client_secret|access_token|refresh_token|api_?key|apikey"
            r"|password|secret|token)=)[^&\s\"']+",
            re.IGNORECASE,
        ),
        rf"\1{MASK}",
    ),
]

# Attributes every LogRecord has; anything else was passed with `extra=` and goes into JSON.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class Redactor:
    """Known secret values and credential-shaped text, replaced by `****`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None

    def register(self, values: Iterable[str]) -> None:
        fresh = {v for v in values if len(v) >= MIN_SECRET_LEN}
        with self._lock:
            self._secrets = self._secrets | fresh
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def clear(self) -> None:
        with self._lock:
            self._secrets, self._pattern = frozenset(), None

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        for shape, replacement in _PATTERNS:
            text = shape.sub(replacement, text)
        return text


REDACTOR = Redactor()


def redact(text: str) -> str:
    """`text` without any registered secret or credential-shaped part."""
    return REDACTOR(text)


def register_secret(value: str) -> None:
    """Hide `value` from every log line and error from now on (e.g. a freshly issued token)."""
    REDACTOR.register([value])


def register_config_secrets(config: Any) -> None:
    """Register the secret values of a config (a pydantic model or a decoded TOML mapping)."""
    raw = config.model_dump(mode="json") if hasattr(config, "model_dump") else config
    REDACTOR.register(secret_values(raw))


def secret_values(node: Any, key: str = "") -> set[str]:
    """Secret strings in a config tree: values of secret-named keys, hidden parts of URLs."""
    found: set[str] = set()
    if isinstance(node, Mapping):
        for name, value in node.items():
            found |= secret_values(value, str(name))
    elif isinstance(node, list):
        for value in node:
            found |= secret_values(value, key)
    elif isinstance(node, str) and node:
        if _SECRET_KEY.search(key):
            found.add(node)
        elif key in _URL_KEYS and "://" in node:
            found |= _hidden_url_parts(node)
    return found


def _hidden_url_parts(url: str) -> set[str]:
    """What `redact_url` would hide in `url`: its tokens, ids and credentials."""
    shown = redact_url(url)
    _, _, rest = url.partition("://")
    pieces = re.split(r"[/:@?&=#,]+", rest)
    return {piece for piece in pieces if len(piece) >= 6 and piece not in shown}


class TextFormatter(logging.Formatter):
    """`2026-11-22 12:00:00 INFO message`, then the traceback if any, all redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


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
        return json.dumps(entry, ensure_ascii=False, default=lambda v: redact(str(v)))


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
