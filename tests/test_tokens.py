"""The tokens section of the store: one token per platform, leases to fetch it, holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from watcher.store import Store, StoredToken

T0, T1, T2 = "2026-11-22T12:00:00Z", "2026-11-22T12:01:00Z", "2026-11-22T12:02:00Z"


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two connections to one file: two processes."""
    first, second = Store.open(tmp_path / "w.db"), Store.open(tmp_path / "w.db")
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def token(access: str = "access-1", refresh: str | None = "refresh-1") -> StoredToken:
    return StoredToken(access, refresh, expires_at=T2, obtained_at=T0)


def test_a_saved_token_is_seen_by_every_connection_and_counts_its_grants(
    stores: tuple[Store, Store],
) -> None:
    a, b = stores
    assert a.tokens.get("soundcloud") is None
    a.tokens.save("soundcloud", token(), holder="a")
    a.tokens.save("soundcloud", token("access-2", "refresh-2"), holder="a")
    seen = b.tokens.get("soundcloud")
    assert seen is not None
    assert (seen.access_token, seen.refresh_token, seen.grants) == ("access-2", "refresh-2", 2)
    health = b.tokens.health()
    assert health is not None and health[0].grants == 2


def test_only_one_holder_gets_the_lease_until_it_runs_out_or_is_released(
    stores: tuple[Store, Store],
) -> None:
    a, b = stores
    assert a.tokens.claim_lease("soundcloud", "a", now=T0, until=T1)
    assert not b.tokens.claim_lease("soundcloud", "b", now=T0, until=T2)
    assert a.tokens.claim_lease("soundcloud", "a", now=T0, until=T2)  # its own: extended
    assert b.tokens.claim_lease("soundcloud", "b", now=T2, until=T2)  # a's ran out
    b.tokens.release_lease("soundcloud", "a")  # not a's any more: nothing happens
    assert not a.tokens.claim_lease("soundcloud", "a", now=T0, until=T1)
    b.tokens.release_lease("soundcloud", "b")
    assert a.tokens.claim_lease("soundcloud", "a", now=T0, until=T1)


def test_saving_a_token_drops_the_savers_lease(stores: tuple[Store, Store]) -> None:
    a, b = stores
    assert a.tokens.claim_lease("soundcloud", "a", now=T0, until=T2)
    a.tokens.save("soundcloud", token(), holder="a")
    assert b.tokens.claim_lease("soundcloud", "b", now=T0, until=T2)


def test_a_hold_on_renewals_runs_until_its_time_and_leaves_leases_alone(
    stores: tuple[Store, Store],
) -> None:
    a, b = stores
    a.tokens.hold_renewals("soundcloud", until=T1)
    assert b.tokens.renewals_held_until("soundcloud", now=T0) == T1
    assert b.tokens.renewals_held_until("soundcloud", now=T1) is None
    assert b.tokens.renewals_held_until("audius", now=T0) is None
    assert b.tokens.claim_lease("soundcloud", "b", now=T0, until=T2)


def test_a_stored_tokens_repr_shows_no_secret() -> None:
    text = repr(token("very-secret-access", "very-secret-refresh"))
    assert "very-secret" not in text and T2 in text
