"""Short labels for outbox sends (`@curator followed @artist_12 (Artist Twelve)`, `3 events of
@account`), shared
by the dispatcher's report lines and `watcher deliveries`, which must not import the sending
machinery to print them."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from watcher.sinks.base import one_line
from watcher.store import DeliveryRow
from watcher.wording import describe_envelope

_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What a label is made of: the row kind, its event id, the bodies of the send.
LabelSource = tuple[str, str | None, tuple[str, ...]]
# Room for a sentence naming two accounts by handle and name.
LABEL_MAX = 200


def describe(rows: Sequence[DeliveryRow]) -> str:
    """A short label for one send: the event's sentence (`wording`), `3 events of @account`,
    `digest of 7 events of 3 accounts`, `watch.failing @account`."""
    return label_of(*source_of(rows))


def source_of(rows: Sequence[DeliveryRow]) -> LabelSource:
    return rows[0].kind, rows[0].event_id, tuple(row.body for row in rows)


def label_of(kind: str, event_id: str | None, bodies: tuple[str, ...]) -> str:
    try:
        envelopes: list[dict[str, Any]] = [json.loads(body) for body in bodies]
        data = envelopes[0]["data"]
        if kind == "alert":
            label = f"{envelopes[0]['type']} @{data['account']['handle']}"
        elif len(envelopes) == 1:  # an event or a signal: its sentence
            label = describe_envelope(envelopes[0])
        elif (accounts := len({_source(e) for e in envelopes})) > 1:
            label = f"digest of {len(envelopes)} events of {accounts} accounts"
        else:
            label = f"{len(envelopes)} events of @{data['account']['handle']}"
    except (IndexError, KeyError, TypeError, ValueError):
        label = f"{kind} {event_id or ''}".strip()
    return one_line(_BIDI.sub("", label), LABEL_MAX)


def _source(envelope: dict[str, Any]) -> str:
    """Whose event this is: the watched account's id, or a signal's name."""
    data = envelope["data"]
    account = data.get("account")
    return str(account["id"]) if account else f"signal {data.get('signal')}"
