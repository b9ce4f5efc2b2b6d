"""Which HTTP answers are worth asking again: one vocabulary for platforms, OAuth and webhooks.

Each caller retries a different kind of request, so each picks its set from the same named
groups instead of keeping a list of its own:

* a platform read retries what says "not now" and the usual server trouble; anything else
  fails the poll at once (the next poll asks again anyway);
* the token endpoint retries server trouble only: another try within seconds of a 429 would
  spend more of a rationed grant (50 per 12 h);
* a webhook delivery goes through the outbox, whose retries are hours apart, so every answer
  that is not known to be final is worth another try.
"""

from __future__ import annotations

# "Not now": a timeout, too early, too many requests. The same request may well succeed later.
TRY_LATER = frozenset({408, 425, 429})
# A gateway or server in trouble, usually for seconds.
SERVER_TROUBLE = frozenset({500, 502, 503, 504})
# 5xx statuses that say the receiver will never handle this request, however often we ask.
PERMANENT_5XX = frozenset({501, 505})
# A receiver busy with a conflicting request (a webhook's idempotency lock) answers 409.
CONFLICT = 409

PLATFORM_RETRYABLE = TRY_LATER | SERVER_TROUBLE
TOKEN_RETRYABLE = SERVER_TROUBLE
# The 4xx statuses a delivery tries again; other 4xx are final.
DELIVERY_RETRYABLE_4XX = TRY_LATER | {CONFLICT}


def delivery_is_permanent(status: int) -> bool:
    """Whether a delivery answered `status` (not 2xx, 3xx or 410) can never succeed as sent."""
    if 400 <= status < 500:
        return status not in DELIVERY_RETRYABLE_4XX
    return status in PERMANENT_5XX
