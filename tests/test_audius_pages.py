"""How an Audius list page becomes profiles: the fast typed path and the lenient one."""

from __future__ import annotations

import json

import msgspec
import pytest

from watcher.errors import PlatformError
from watcher.platforms.audius import _page

USER = {
    "id": "eJ57D",
    "handle": "Audius",
    "name": "Audius",
    "follower_count": 83505,
    "followee_count": 12,
    "is_verified": True,
    "is_deactivated": False,
    "is_available": True,
    "profile_picture": {"150x150": "https://example.invalid/a.jpg"},
    "bio": "ignored",
}


def page(*users: dict[str, object]) -> bytes:
    return json.dumps({"data": list(users)}).encode()


def test_a_documented_page_reads_every_field_we_use() -> None:
    (profile,) = _page(page(USER))
    assert (profile.id, profile.handle, profile.name, profile.url) == (
        "eJ57D",
        "Audius",
        "Audius",
        "https://audius.co/Audius",
    )
    assert (profile.follower_count, profile.following_count) == (83505, 12)
    assert profile.is_verified and not profile.deactivated


def test_an_odd_value_degrades_that_field_not_the_page() -> None:
    odd = {**USER, "id": "x1", "handle": "odd", "follower_count": "lots", "name": 7}
    first, second = _page(page(USER, odd))
    assert first.follower_count == 83505
    assert (second.follower_count, second.name) == (None, "odd")


@pytest.mark.parametrize(
    "user", [{**USER, "is_available": False}, {**USER, "is_deactivated": True}]
)
def test_unavailable_or_deactivated_reads_as_deactivated(user: dict[str, object]) -> None:
    assert _page(page(user))[0].deactivated


@pytest.mark.parametrize("user", [{**USER, "handle": ""}, {**USER, "handle": None}])
def test_a_user_without_a_handle_fails_the_page(user: dict[str, object]) -> None:
    with pytest.raises(PlatformError, match="lacks a usable id or handle"):
        _page(page(user))


@pytest.mark.parametrize(
    "bad_id", ["", " ", "eJ5 7D", "eJ57D\n", "../x", -1, True, None, 10**400, 1.5, ["eJ57D"]]
)
def test_an_entry_without_a_usable_id_fails_the_page(bad_id: object) -> None:
    """An empty or malformed id is not an account: the page is malformed, never listed."""
    with pytest.raises(PlatformError, match="lacks a usable id or handle"):
        _page(page(USER, {**USER, "id": bad_id, "handle": "other"}))


@pytest.mark.parametrize("good_id", ["eJ57D", "LKdlD", 0, 123456])
def test_hashids_and_plain_integers_are_usable_ids(good_id: object) -> None:
    assert _page(page({**USER, "id": good_id}))[0].id == str(good_id)


def test_a_page_of_the_wrong_shape_is_a_validation_error() -> None:
    with pytest.raises(msgspec.ValidationError):
        _page(b'{"data": {"not": "a list"}}')
