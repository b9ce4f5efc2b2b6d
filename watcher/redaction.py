"""Secrets never leave: the one place that hides them from every text watcher shows or keeps.

It hides two kinds of things: the secret values of the running config (registered at start
and on reload: webhook secrets, API keys, client ids and secrets, the token-like parts of
Apprise URLs) and of credentials obtained at run time (tokens), and anything that looks like a
credential whoever wrote it (URL userinfo, `whsec_...`, `Bearer ...`/`OAuth ...`,
`?client_secret=...`). Log lines, the lines the CLI prints, error texts stored in the database
and the error an alert carries all pass through `redact`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from watcher.sinks.base import redact_url

MASK = "****"
# Shorter values are too likely to be ordinary words or numbers to hide everywhere.
MIN_SECRET_LEN = 6
# Config keys whose string values are secrets wherever they appear.
_SECRET_KEY = re.compile(
    r"(secret|token|password|passwd|api_?key|credential|client_id)", re.IGNORECASE
)
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
            r"(?<![A-Za-z0-9_])((?:client_id|client_secret|access_token|refresh_token|api_?key|apikey"
            r"|password|secret|token)=)[^&\s\"']+",
            re.IGNORECASE,
        ),
        rf"\1{MASK}",
    ),
]


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
    """What `redact_url` hides in `url` that is a secret: its tokens, ids and credentials.

    The host and path pieces it hides are ids and tokens (`discord://id/token`). Of the query
    only values are: those of credential-named keys (`?token=`, `&apikey=`) and those shaped
    like a token (long, letters and digits). Keys and plain words (`format=markdown`,
    `mode=insecure`, `to=watcher@example.com`) are settings, and hiding them would mask those
    words in every log line."""
    shown = redact_url(url)
    _, _, rest = url.partition("://")
    main, _, query = rest.partition("?")
    main = main.partition("#")[0]
    found = {p for p in re.split(r"[/:@,]+", main) if len(p) >= MIN_SECRET_LEN and p not in shown}
    for key, value in parse_qsl(query.partition("#")[0]):
        if _SECRET_KEY.search(key) or _QUERY_SECRET_KEY.search(key) or _TOKEN_SHAPED.search(value):
            found |= {v for v in re.split(r"[,\s]+", value) if len(v) >= MIN_SECRET_LEN}
    return found


# Query keys Apprise URLs carry credentials in, besides the config's own secret-named keys.
_QUERY_SECRET_KEY = re.compile(r"(key|pass|auth|webhook|bot|user|sid|hook)", re.IGNORECASE)
# A value that reads like a token: twelve or more characters mixing letters and digits.
_TOKEN_SHAPED = re.compile(r"^(?=[^\s]*\d)(?=[^\s]*[A-Za-z])[^\s]{12,}$")
