"""OAuth2 client-credentials tokens that last: persisted, shared by every process, rationed.

SoundCloud grants at most 50 tokens per 12 hours per app and 30 per hour per IP, so asking
for one per poll, or per `watcher once` started by cron, would lock the app out within hours.
A token therefore lives in the database (`store.tokens`) and serves every poll of every
process until shortly before it expires; then its refresh token buys the next one (refresh
tokens are single-use: the newest is always the one kept). A 401 means the platform stopped
honouring the token early (revoked, expired on its side): it is replaced once, and the request
retried. A refresh token that no longer works falls back to a new client-credentials grant.

Processes coordinate through a lease row (see `store/tokens.py`): the holder
fetches, the others wait for the token it saves, so processes starting together ask once.
Neither the token nor the secret ever reaches an error message or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import math
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watcher import redaction
from watcher.clock import Clock, iso, parse_iso
from watcher.errors import PlatformError
from watcher.http.json_client import HttpStatusError, JsonClient
from watcher.http.retry import Sleep
from watcher.http.statuses import TOKEN_RETRYABLE
from watcher.lock_wait import patiently
from watcher.store import Store, StoredToken

# Renew this long before expiry (at most a tenth of the token's life), so a poll that starts
# just before expiry does not run into a 401 half-way.
RENEW_BEFORE = 300.0
DEFAULT_LIFETIME = 3600.0
# A token said to last longer than this is kept this long: an absurd `expires_in` (1e20,
# Infinity) must neither break the arithmetic nor make every run ask for a new token.
MAX_LIFETIME = 7 * 86_400.0
# What may stand in an Authorization header: visible ASCII, no spaces or line breaks.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]{1,4096}")
# After a failed grant, the same process does not ask again for this long: ten watches
# polled together with a wrong secret make one token request, not ten.
FAILURE_COOLDOWN = 60.0
# After a brand-new token was refused too, no process renews on a 401 for this long.
HOLD_AFTER_REFUSAL = 1800.0


@dataclass(frozen=True)
class ClientCredentials:
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)

    def basic_auth(self) -> str:
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


class TokenKeeper:
    """The current access token of one platform, obtained as rarely as the platform needs."""

    def __init__(
        self,
        platform: str,
        credentials: ClientCredentials,
        *,
        http: JsonClient,
        store: Store,
        clock: Clock,
        lease_seconds: float = 120.0,
        wait_interval: float = 0.2,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.platform = platform
        self._credentials = credentials
        # The token endpoint is not retried on 429: another try within seconds would only
        # spend more of the ration (see statuses.py). Timeouts and 5xx are.
        self._http = http.retrying(TOKEN_RETRYABLE)
        self._store = store
        self._clock = clock
        self._lease = timedelta(seconds=lease_seconds)
        self._wait_interval = wait_interval
        self._max_waits = max(1, math.ceil(lease_seconds / wait_interval) + 1)
        self._sleep = sleep
        self._holder = f"{os.getpid()}-{secrets.token_hex(6)}"
        self._token: StoredToken | None = None
        self._failed: tuple[datetime, PlatformError] | None = None
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        """A token that is valid for a while yet (from memory, the store, or the platform)."""
        token = self._token
        if token is not None and self._usable(token, rejected=None):
            return token.access_token
        async with self._lock:
            return (await self._current(rejected=None)).access_token

    async def renew(self, rejected: str) -> str:
        """A token other than `rejected`, which the platform just answered with 401.

        Unless a token obtained to replace a refused one was refused too, lately: then the
        401s are not about the token, and asking for more would only spend the ration.
        """
        async with self._lock:
            for candidate in (self._token, self._store.tokens.get(self.platform)):
                if candidate is not None and self._usable(candidate, rejected):
                    self._keep(candidate)
                    return candidate.access_token
            now = self._clock.now()
            held = self._store.tokens.renewals_held_until(self.platform, iso(now))
            if held is not None:
                raise PlatformError(
                    f"{self.platform}: HTTP 401 although a new token was refused too lately;"
                    f" not asking for another before {held} (token requests are rationed)"
                )
            return (await self._current(rejected=rejected)).access_token

    def refused_again(self) -> None:
        """The token `renew` gave was refused too: hold further 401 renewals for a while."""
        until = self._clock.now() + timedelta(seconds=HOLD_AFTER_REFUSAL)
        self._store.tokens.hold_renewals(self.platform, iso(until))

    async def _current(self, rejected: str | None) -> StoredToken:
        for candidate in (self._token, self._store.tokens.get(self.platform)):
            if candidate is not None and self._usable(candidate, rejected):
                self._keep(candidate)
                return candidate
        self._raise_recent_failure()
        try:
            token = await self._replace(rejected)
        except PlatformError as exc:
            self._failed = (self._clock.now(), exc)
            raise
        self._failed = None
        self._keep(token)
        return token

    def _keep(self, token: StoredToken) -> None:
        """Hold `token` in memory, and hide its secrets from every log line and error."""
        if token is not self._token:
            redaction.register_secret(token.access_token)
            if token.refresh_token:
                redaction.register_secret(token.refresh_token)
        self._token = token

    def _usable(self, token: StoredToken, rejected: str | None) -> bool:
        if token.access_token == rejected:
            return False
        expires = parse_iso(token.expires_at)
        life = (expires - parse_iso(token.obtained_at)).total_seconds()
        margin = min(RENEW_BEFORE, max(life, 0.0) / 10)
        return self._clock.now() < expires - timedelta(seconds=margin)

    def _raise_recent_failure(self) -> None:
        if self._failed is None:
            return
        when, error = self._failed
        if (self._clock.now() - when).total_seconds() < FAILURE_COOLDOWN:
            raise PlatformError(f"{error} (not asking again for {FAILURE_COOLDOWN:.0f}s)")

    async def _replace(self, rejected: str | None) -> StoredToken:
        """Fetch the next token under the lease, or wait for the process holding it."""
        for _ in range(self._max_waits):
            now = self._clock.now()
            # Each write waits out another process's lock off the loop (see lock_wait.py).
            claimed = await patiently(
                self._store,
                self._store.tokens.claim_lease,
                self.platform,
                self._holder,
                iso(now),
                iso(now + self._lease),
            )
            if claimed:
                try:
                    stored = self._store.tokens.get(self.platform)
                    if stored is not None and self._usable(stored, rejected):
                        return stored  # another process saved one since we looked
                    token = await self._grant(stored)
                    await patiently(
                        self._store, self._store.tokens.save, self.platform, token, self._holder
                    )
                    return token
                finally:
                    await patiently(
                        self._store, self._store.tokens.release_lease, self.platform, self._holder
                    )
            await self._sleep(self._wait_interval)
            stored = self._store.tokens.get(self.platform)
            if stored is not None and self._usable(stored, rejected):
                return stored
        raise PlatformError(
            f"{self.platform}: another watcher process has been getting a token for over"
            f" {self._lease.total_seconds():.0f}s; not asking alongside it"
        )

    async def _grant(self, stored: StoredToken | None) -> StoredToken:
        """A new token: by the refresh token when there is one, else (or if it is spent or
        revoked) by the client-credentials grant."""
        if stored is not None and stored.refresh_token:
            try:
                return await self._request(
                    {"grant_type": "refresh_token", "refresh_token": stored.refresh_token}
                )
            except HttpStatusError as exc:
                if exc.status not in (400, 401):
                    raise self._explain(exc) from None
        try:
            return await self._request({"grant_type": "client_credentials"})
        except HttpStatusError as exc:
            raise self._explain(exc) from None

    async def _request(self, form: dict[str, str]) -> StoredToken:
        answer = await self._http.request_json(
            "POST",
            self._credentials.token_url,
            form=form,
            headers={
                "Authorization": self._credentials.basic_auth(),
                "Accept": "application/json",
            },
        )
        return self._parse(answer.body)

    def _parse(self, body: Any) -> StoredToken:
        if not isinstance(body, dict):
            raise PlatformError(f"{self.platform}: the token endpoint answered without a token")
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or not access:
            raise PlatformError(f"{self.platform}: the token endpoint answered without a token")
        for token in (access, refresh):
            if isinstance(token, str) and not _HEADER_SAFE.fullmatch(token):
                raise PlatformError(
                    f"{self.platform}: the token endpoint answered a token that cannot be sent"
                    " in a header (control characters or spaces): malformed answer"
                )
        lifetime = _lifetime(body.get("expires_in"))
        now = self._clock.now()
        return StoredToken(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=iso(now + timedelta(seconds=float(lifetime))),
            obtained_at=iso(now),
        )

    def _explain(self, exc: HttpStatusError) -> PlatformError:
        hint = ""
        if exc.status in (400, 401):
            hint = "; check client_id and client_secret"
        elif exc.status == 429:
            hint = "; token requests are rationed (50 per 12 h per app, 30 per hour per IP)"
        return PlatformError(f"{self.platform}: no access token: {exc}{hint}")


def _lifetime(value: Any) -> float:
    """Seconds a token lasts, from `expires_in`: the default when missing or nonsense (not a
    number, NaN, zero or less), at most `MAX_LIFETIME`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return DEFAULT_LIFETIME
    seconds = float(value) if not isinstance(value, int) or value < 10**9 else MAX_LIFETIME
    if not math.isfinite(seconds):
        return MAX_LIFETIME if seconds > 0 else DEFAULT_LIFETIME
    if seconds <= 0:
        return DEFAULT_LIFETIME
    return min(seconds, MAX_LIFETIME)
