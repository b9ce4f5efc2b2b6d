"""The Audius user object as JSON text, rendered straight from a template.

A benchmark pages through a million followers 100 at a time; building a 31-field dict per
user and handing it to `json.dumps` cost more than everything else in the request, so the
object is written as text (strings escaped by the C encoder). The shape and field order
follow the documentation page in the reference notes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

CONTENT_HOST = "https://sim-content.audius.invalid/content"
_WALLET_BITS = (1 << 160) - 1


@dataclass(frozen=True, slots=True)
class UserFacts:
    """What varies between users; everything else in the object is a constant."""

    number: int
    id: str
    handle: str
    name: str
    follower_count: int
    followee_count: int
    verified: bool
    deactivated: bool
    extra: Mapping[str, Any] | None = None  # seed users: real bio, location, pictures


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _pictures(uid: str, extra: Mapping[str, Any] | None) -> tuple[str, str]:
    """(profile_picture, cover_photo) JSON: the seed's real URLs, else fake per-user ones."""
    base = f"{CONTENT_HOST}/{uid}"
    if extra is not None and "profile_picture" in extra:
        profile = json.dumps(extra["profile_picture"], separators=(",", ":"))
    else:
        profile = (
            f'{{"150x150":"{base}/150x150.jpg","480x480":"{base}/480x480.jpg",'
            f'"1000x1000":"{base}/1000x1000.jpg"}}'
        )
    if extra is not None and "cover_photo" in extra:
        cover = json.dumps(extra["cover_photo"], separators=(",", ":"))
    else:
        cover = (
            f'{{"640x":"{CONTENT_HOST}/{uid}/640x.jpg","2000x":"{CONTENT_HOST}/{uid}/2000x.jpg"}}'
        )
    return profile, cover


def _optional(extra: Mapping[str, Any] | None, field: str) -> str:
    value = None if extra is None else extra.get(field)
    return _quote(value) if isinstance(value, str) else "null"


def render_user(user: UserFacts) -> bytes:
    """The JSON of one user object."""
    extra = user.extra
    profile, cover = _pictures(user.id, extra)
    wallet = f'"0x{(user.number * 0x9E3779B97F4A7C15 + 0x5EED) & _WALLET_BITS:040x}"'
    available = _bool(not user.deactivated)
    return (
        f'{{"album_count":0,"artist_pick_track_id":null,"bio":{_optional(extra, "bio")},'
        f'"cover_photo":{cover},"followee_count":{user.followee_count},'
        f'"follower_count":{user.follower_count},"handle":{_quote(user.handle)},'
        f'"id":{_quote(user.id)},"is_verified":{_bool(user.verified)},'
        f'"twitter_handle":null,"instagram_handle":null,"tiktok_handle":null,'
        f'"verified_with_twitter":false,"verified_with_instagram":false,'
        f'"verified_with_tiktok":false,"website":null,"donation":null,'
        f'"location":{_optional(extra, "location")},"name":{_quote(user.name)},'
        f'"playlist_count":0,"profile_picture":{profile},"repost_count":0,'
        f'"track_count":{(user.number * 7) % 41},"is_deactivated":{_bool(user.deactivated)},'
        f'"is_available":{available},"erc_wallet":{wallet},'
        f'"spl_wallet":"Sim{user.id}Spl{user.number:x}","supporter_count":0,'
        f'"supporting_count":0,"total_audio_balance":0,"wallet":{wallet}}}'
    ).encode()


def data_body(objects: list[bytes]) -> bytes:
    """`{"data": [...]}` around already rendered objects."""
    return b'{"data":[' + b",".join(objects) + b"]}"


def data_one(rendered: bytes) -> bytes:
    return b'{"data":' + rendered + b"}"
