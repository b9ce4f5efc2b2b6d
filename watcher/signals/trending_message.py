"""A `signal.trending` event as a chat message:

    Audius: @artist trending (scouting)
    3 watched accounts followed @artist this week: @a (Mon), @b (Tue), @c (Thu)
    Artist Name: 812 followers

Handles link to their profiles where the format has links. Everything from the platform goes
through `sinks/message.py`'s `safe_text` (one line, mentions and autolinks defused, escaped for
the format) and links only through its `profile_url`. Days and times are UTC.
"""

from __future__ import annotations

import html
from typing import Any

from watcher.clock import parse_iso
from watcher.platforms.base import Profile
from watcher.sinks.message import FORMATS, HANDLE_MAX, ZWSP, profile_url, safe_text

DAY = 86_400
WEEK = 7 * DAY
# How platforms are named in titles; others are capitalised.
_PLATFORM_NAMES = {"soundcloud": "SoundCloud"}


def window_phrase(window_s: float) -> str:
    """`this week`, `today`, `in 3 days`, `in 36 hours`, `in 30 minutes`."""
    seconds = round(window_s)
    if seconds % DAY == 0:
        days = seconds // DAY
        return {1: "today", 7: "this week"}.get(days, f"in {days} days")
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "in an hour" if hours == 1 else f"in {hours} hours"
    minutes = max(1, round(seconds / 60))
    return "in a minute" if minutes == 1 else f"in {minutes} minutes"


def when_label(followed_at: str, window_s: float) -> str:
    """When one account followed, as precisely as the window needs: `14:05` within a day,
    `Mon` within a week, `Nov 3` beyond."""
    moment = parse_iso(followed_at)
    if window_s <= DAY:
        return moment.strftime("%H:%M")
    if window_s <= WEEK:
        return moment.strftime("%a")
    return f"{moment.strftime('%b')} {moment.day}"


def platform_name(platform: str) -> str:
    return _PLATFORM_NAMES.get(platform, platform.capitalize())


def trending_message(envelope: dict[str, Any], fmt: str) -> tuple[str, str]:
    """Title and body of a `signal.trending` envelope in `fmt` (markdown, html or text)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown message format {fmt!r}")
    data = envelope["data"]
    platform = str(data["platform"])
    target = _profile(data["target"])
    accounts: list[dict[str, Any]] = list(data["accounts"])
    window_s = float(data["window_s"])
    count = len(accounts)
    title = (
        f"{safe_text(platform_name(platform), fmt)}: {_handle(target, fmt)} trending"
        f" ({safe_text(str(data['signal']), fmt)})"
    )
    followed = ", ".join(
        f"{_linked(platform, _profile(a), fmt)} ({when_label(str(a['followed_at']), window_s)})"
        for a in accounts
    )
    noun = "account" if count == 1 else "accounts"
    sentence = (
        f"{count} watched {noun} followed {_linked(platform, target, fmt)}"
        f" {window_phrase(window_s)}: {followed}"
    )
    about = f"{safe_text(target.name or target.handle, fmt)}: {_followers(target)}"
    if fmt == "html":
        return title, f"{sentence}<br>\n{about}<br>"
    if fmt == "text":
        url = profile_url(platform, target)
        return title, "\n".join([sentence, f"{about} {url}" if url else about])
    return title, f"{sentence}\n{about}"


def _profile(view: dict[str, Any]) -> Profile:
    count = view.get("follower_count")
    return Profile(
        str(view.get("id", "")),
        str(view.get("handle", "")),
        str(view.get("name", "")),
        str(view.get("url", "")),
        follower_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        is_verified=view.get("is_verified") is True,
    )


def _handle(profile: Profile, fmt: str) -> str:
    """`@handle`, where the `@` of our own making cannot ping anyone either."""
    return "@" + ZWSP + safe_text(profile.handle.lstrip("@"), fmt, HANDLE_MAX)


def _linked(platform: str, profile: Profile, fmt: str) -> str:
    handle = _handle(profile, fmt)
    url = profile_url(platform, profile)
    if url is None or fmt == "text":
        return handle
    if fmt == "markdown":
        return f"[{handle}]({url})"
    return f'<a href="{html.escape(url, quote=True)}">{handle}</a>'


def _followers(target: Profile) -> str:
    count = target.follower_count
    words = "follower count unknown" if count is None else f"{count:,} followers"
    if count == 1:
        words = "1 follower"
    return f"{words}, verified" if target.is_verified else words
