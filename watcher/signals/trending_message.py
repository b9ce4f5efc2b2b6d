"""A `signal.trending` event as a chat message:

    Audius: 3 watched accounts followed @artist this week
    3 watched accounts followed @artist this week: @a (Mon), @b (Tue), @c (Thu)
    @artist (Artist Name): 812 followers
    Signal: scouting

Handles link to their profiles where the service has links. The writing is the service's
renderer (`sinks/renderers.py`: escaping, mentions, links), as for every other message; links
come only from `sinks/message.py`'s `profile_url`. Days and times are UTC.
"""

from __future__ import annotations

from typing import Any

from watcher.clock import parse_iso
from watcher.platforms.base import Profile
from watcher.sinks.message import profile_url, titled
from watcher.sinks.renderers import Renderer
from watcher.wording import shows_name

DAY = 86_400
WEEK = 7 * DAY


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


def trending_message(envelope: dict[str, Any], renderer: Renderer) -> tuple[str, str]:
    """Title and body of a `signal.trending` envelope, written by `renderer`."""
    data = envelope["data"]
    platform = str(data["platform"])
    target = _profile(data["target"])
    accounts: list[dict[str, Any]] = list(data["accounts"])
    window_s = float(data["window_s"])
    titles = renderer.title
    count = len(accounts)
    title = titled([platform], _followed(count, titles.handle(target.handle), window_s), titles)
    # Plain text shows a link's URL: only the target's, at the end of its line.
    labelled = renderer.markup.labelled_links

    def who(profile: Profile) -> str:
        handle = renderer.handle(profile.handle)
        return renderer.link(handle, profile_url(platform, profile)) if labelled else handle

    followed = ", ".join(
        f"{who(_profile(a))} ({when_label(str(a['followed_at']), window_s)})" for a in accounts
    )
    about = f"{_about(target, renderer)}: {_followers(target)}"
    if not labelled:
        about = renderer.link(about, profile_url(platform, target))
    return title, renderer.lines(
        [
            f"{_followed(count, who(target), window_s)}: {followed}",
            about,
            f"Signal: {renderer.text(str(data['signal']))}",
        ]
    )


def _followed(count: int, target: str, window_s: float) -> str:
    """`3 watched accounts followed @target this week`, the target already written."""
    noun = "account" if count == 1 else "accounts"
    return f"{count} watched {noun} followed {target} {window_phrase(window_s)}"


def _about(target: Profile, renderer: Renderer) -> str:
    """`@target (Name)`, the name only when it adds to the handle."""
    handle = renderer.handle(target.handle)
    if shows_name(target.handle, target.name):
        return f"{handle} ({renderer.text(target.name)})"
    return handle


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


def _followers(target: Profile) -> str:
    count = target.follower_count
    words = "follower count unknown" if count is None else f"{count:,} followers"
    if count == 1:
        words = "1 follower"
    return f"{words}, verified" if target.is_verified else words
