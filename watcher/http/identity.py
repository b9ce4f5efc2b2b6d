"""How watcher presents itself on the wire: one User-Agent, one TLS context."""

from __future__ import annotations

import ssl
from functools import cache

import httpx

from watcher import __version__

USER_AGENT = f"watcher/{__version__}"


@cache
def default_tls() -> ssl.SSLContext:
    """httpx's verification (certifi's CA bundle), built once per process: reading the bundle
    costs ~50 ms, and every client (platforms, webhooks) verifies the same way."""
    return httpx.create_ssl_context()
