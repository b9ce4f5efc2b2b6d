"""The simulated SoundCloud token endpoint and the access tokens it hands out.

Like the real `POST /oauth/token`: client credentials only in `Authorization: Basic`, the
`client_credentials` and `refresh_token` grants, single-use refresh tokens, tokens that expire
after `lifetime` seconds. Every request is counted (the real endpoint is rationed: 50 per 12 h
per app, 30 per hour per IP), and a test can cap them (`limit`), expire every token, or revoke
every token and refresh token, to check that a client recovers.
"""

from __future__ import annotations

import base64
import binascii
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import parse_qsl

from watcher.sim.http import SimRequest, SimResponse, json_response

Monotonic = Callable[[], float]


class TokenIssuer:
    """Issues and checks tokens; thread-safe (the server and the test driving it both call it)."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        lifetime: float = 3600.0,
        seed: int = 0,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.lifetime = lifetime
        self.limit: int | None = None  # token requests allowed before 429s
        self.requests = 0  # every request to the endpoint, refused ones included
        self.grants: Counter[str] = Counter()  # tokens issued, by grant type
        self._monotonic = monotonic
        self._rng = random.Random(f"{seed}:tokens")
        self._lock = threading.Lock()
        self._access: dict[str, float] = {}  # token -> expiry (monotonic)
        self._refresh: set[str] = set()

    # -- control ----------------------------------------------------------------------------

    def expire_all(self) -> None:
        """Every access token expires now (refresh tokens still work)."""
        with self._lock:
            now = self._monotonic()
            self._access = dict.fromkeys(self._access, now)

    def revoke_all(self) -> None:
        """Every access token and every refresh token stops working."""
        with self._lock:
            self._access.clear()
            self._refresh.clear()

    def issue(self) -> str:
        """A valid access token without a request (tests that are not about tokens)."""
        with self._lock:
            return str(self._new_pair("direct")["access_token"])

    def valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._access.get(token)
            return expiry is not None and self._monotonic() < expiry

    # -- HTTP -------------------------------------------------------------------------------

    def answer(self, request: SimRequest) -> SimResponse:
        with self._lock:
            self.requests += 1
            if self.limit is not None and self.requests > self.limit:
                return json_response(
                    {"code": 429, "message": "Too Many Requests", "status": "429 - Too Many"},
                    429,
                )
            if not self._client_ok(request.headers.get("Authorization")):
                return _oauth_error(401, "invalid_client", "client authentication failed")
            form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
            grant = form.get("grant_type")
            if grant == "client_credentials":
                return json_response(self._new_pair(grant))
            if grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                if refresh not in self._refresh:
                    return _oauth_error(400, "invalid_grant", "refresh token invalid or used")
                self._refresh.discard(refresh)  # single-use
                return json_response(self._new_pair(grant))
            return _oauth_error(400, "unsupported_grant_type", "grant_type not supported")

    def _client_ok(self, header: str | None) -> bool:
        if header is None:
            return False
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _, secret = decoded.partition(":")
        return client_id == self.client_id and secret == self.client_secret

    def _new_pair(self, grant: str) -> dict[str, object]:
        self.grants[grant] += 1
        access = f"2-{self._rng.getrandbits(64):016x}-{self._rng.getrandbits(64):016x}"
        refresh = f"r-{self._rng.getrandbits(128):032x}"
        self._access[access] = self._monotonic() + self.lifetime
        self._refresh.add(refresh)
        return {
            "access_token": access,
            # A whole number as the real endpoint sends it; anything else (Infinity) as is,
            # for tests of a hostile answer.
            "expires_in": int(self.lifetime)
            if float(self.lifetime).is_integer()
            else self.lifetime,
            "refresh_token": refresh,
            "scope": "",
            "token_type": "bearer",
        }


def _oauth_error(status: int, error: str, description: str) -> SimResponse:
    return json_response({"error": error, "error_description": description}, status)
