"""Events, digests, alerts and test messages as chat messages, written by a service's renderer.

What a message says is decided here, once for every service: the title names the platform
(`Audius: @Audius followed 2, unfollowed 1`), an event is the sentence `wording.py` makes
(`@a followed @b (Name)`), a digest lists those sentences under headings. How it is written
(escaping, mentions, links, headings, list markers) is the renderer's, one per service
(`renderers.py`), so every message path (one event, a poll's batch, a scheduled or quiet-hours
digest, a signal, a failure alert, `watcher notify-test`) reads the same on a service and is
safe there. The only link in a message is a profile URL rebuilt here from the platform's known
profile address (`profile_url`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from watcher.alerts import FAILING, Alert
from watcher.events import Event
from watcher.platforms import registry
from watcher.platforms.base import Profile
from watcher.sinks.renderers import NAME_MAX, Renderer
from watcher.wording import sentence, shows_name

URL_MAX = 400
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")


# -- platforms and profiles --------------------------------------------------------------------


def platforms_named(platforms: Iterable[str]) -> str:
    """`Audius`, `Audius and SoundCloud`: the platforms a message is about, in order."""
    names = [registry.display_name(platform) for platform in dict.fromkeys(platforms)]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def titled(platforms: Iterable[str], what: str, renderer: Renderer) -> str:
    """`Audius: <what>`, `what` already written for the title's renderer."""
    return f"{renderer.text(platforms_named(platforms))}: {what}"


def profile_url(platform: str, profile: Profile) -> str | None:
    """The profile's web address rebuilt from safe parts, or None when it cannot be trusted.

    Only http(s), no credentials, no query or fragment, a plain hostname (one of the platform's
    own for known platforms), and a path percent-encoded down to characters that mean nothing
    in Markdown or HTML.
    """
    try:
        parts = urlsplit(profile.url.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or "@" in parts.netloc or not _HOST.match(host):
        return None
    known = registry.profile_hosts(platform)  # each platform declares its own
    if known and host not in known:
        return None
    path = quote(unquote(parts.path), safe="/-_.~")
    url = f"{parts.scheme}://{host}{f':{port}' if port else ''}{path}"
    return url if len(url) <= URL_MAX else None


def _who(event: Event, renderer: Renderer, *, link: bool) -> str:
    """The other account as `@handle (Name)` (the name only when it adds to the handle; see
    `wording.shows_name`), linked to the profile when asked and possible: the handle where a
    link hides its URL behind a label, else with the URL after the name."""
    target = event.target
    url = profile_url(event.platform, target) if link else None
    labelled = renderer.markup.labelled_links
    who = renderer.link(renderer.handle(target.handle), url if labelled else None)
    if shows_name(target.handle, target.name):
        who = f"{who} ({_name(target, renderer)})"
    return who if labelled else renderer.link(who, url)


def _name(profile: Profile, renderer: Renderer) -> str:
    return renderer.text(profile.name.strip() or profile.handle.lstrip("@"), NAME_MAX)


# -- titles and bodies -------------------------------------------------------------------------


def _is_added(event: Event) -> bool:
    return event.type.endswith(".added")


def _one_watch(events: Sequence[Event]) -> Event:
    """The first event, after checking all belong to one watch (one account, one relation)."""
    if not events:
        raise ValueError("a digest needs at least one event")
    first = events[0]
    for event in events[1:]:
        if (event.platform, event.account.id, event.relation) != (
            first.platform,
            first.account.id,
            first.relation,
        ):
            raise ValueError("a digest holds the events of one watch (account and relation)")
    return first


def _counts(events: Sequence[Event], renderer: Renderer) -> str:
    """`@Audius followed 2, unfollowed 1` or `@Audius gained 3 followers, lost 1`."""
    first = _one_watch(events)
    added = sum(1 for event in events if _is_added(event))
    removed = len(events) - added
    if first.relation == "following":
        parts = [f"followed {added}"] if added else []
        if removed:
            parts.append(f"unfollowed {removed}")
    else:
        parts = [f"gained {added} {_followers(added)}"] if added else []
        if removed:
            parts.append(f"lost {removed}" if added else f"lost {removed} {_followers(removed)}")
    return f"{renderer.handle(first.account.handle)} {', '.join(parts)}"


def digest_title(events: Sequence[Event], renderer: Renderer) -> str:
    """`Audius: @Audius followed 2, unfollowed 1` or `Audius: @Audius gained 3 followers,
    lost 1`, written by the renderer's title renderer."""
    titles = renderer.title
    return titled([_one_watch(events).platform], _counts(events, titles), titles)


def _followers(count: int) -> str:
    return "follower" if count == 1 else "followers"


def _headings(relation: str, added: int, removed: int) -> tuple[str, str]:
    if relation == "following":
        return f"Followed ({added})", f"Unfollowed ({removed})"
    return f"New followers ({added})", f"Lost followers ({removed})"


def _digest_lines(events: Sequence[Event], renderer: Renderer) -> list[str]:
    first = _one_watch(events)
    added = [event for event in events if _is_added(event)]
    removed = [event for event in events if not _is_added(event)]
    heading_added, heading_removed = _headings(first.relation, len(added), len(removed))
    lines: list[str] = []
    for heading, group, is_added in (
        (heading_added, added, True),
        (heading_removed, removed, False),
    ):
        if not group:
            continue
        if lines:
            lines.append("")
        lines.append(renderer.heading(heading))
        lines.extend(
            renderer.item(_sentence(event, renderer, link=True), is_added) for event in group
        )
    return lines


def digest_body(events: Sequence[Event], renderer: Renderer) -> str:
    """One line per change, added first then removed, each group under a heading line.

    Every line stands alone (no multi-line markup), so `split_message` can cut between any two.
    """
    return renderer.lines(_digest_lines(events, renderer))


def _by_watch(events: Sequence[Event]) -> list[list[Event]]:
    """`events` per watch (platform, account, relation), watches in order of first event."""
    groups: dict[tuple[str, str, str], list[Event]] = {}
    for event in events:
        groups.setdefault((event.platform, event.account.id, event.relation), []).append(event)
    return list(groups.values())


def digest_of_watches_title(events: Sequence[Event], renderer: Renderer) -> str:
    """A held digest's title: one watch's own (`Audius: @Audius followed 2, unfollowed 1`), or
    `Audius: 7 changes on 3 watches` (`Audius and SoundCloud: ...` across platforms)."""
    groups = _by_watch(events)
    if len(groups) <= 1:
        return digest_title(events, renderer)
    changes = "change" if len(events) == 1 else "changes"
    what = f"{len(events)} {changes} on {len(groups)} watches"
    return titled([event.platform for event in events], what, renderer.title)


def digest_of_watches_body(events: Sequence[Event], renderer: Renderer) -> str:
    """A held digest's body, grouped by watch: one watch's digest as usual; with several, each
    watch's counts as a heading line above its digest (its platform named too when the digest
    spans platforms), a blank line between watches. Every line still stands alone, so
    `split_message` cuts between any two."""
    groups = _by_watch(events)
    if len(groups) <= 1:
        return digest_body(events, renderer)
    several_platforms = len({event.platform for event in events}) > 1
    lines: list[str] = []
    for group in groups:
        counts = _counts(group, renderer)
        if several_platforms:
            counts = titled([group[0].platform], counts, renderer)
        if lines:
            lines.append("")
        lines.append(renderer.heading(counts))
        lines.extend(_digest_lines(group, renderer))
    return renderer.lines(lines)


def _sentence(event: Event, renderer: Renderer, *, link: bool) -> str:
    """The event's sentence (`wording.sentence`), each account written by the renderer."""
    return sentence(
        event.type, renderer.handle(event.account.handle), _who(event, renderer, link=link)
    )


def event_title(event: Event, renderer: Renderer) -> str:
    """`Audius: @Audius followed @handle (Name)` / `Audius: @handle (Name) stopped following
    @Audius`; no link."""
    titles = renderer.title
    return titled([event.platform], _sentence(event, titles, link=False), titles)


def event_body(event: Event, renderer: Renderer) -> str:
    """The one-event message: the same sentence, with the target's profile linked."""
    return renderer.lines([_sentence(event, renderer, link=True)])


# -- failure alerts and test messages ----------------------------------------------------------

ERROR_MAX = 300


def _watched(alert: Alert, renderer: Renderer) -> str:
    """`@Audius following`: the handle once known, else the account as the config names it."""
    if alert.resolved:
        who = renderer.handle(alert.account.handle)
    else:
        who = renderer.text(alert.account.name)
    return f"{who} {alert.relation}"


def alert_title(alert: Alert, renderer: Renderer) -> str:
    """`Audius: watch failing for @Audius following (3 polls in a row)` / `Audius: watch
    recovered for @Audius following`."""
    titles = renderer.title
    if alert.type == FAILING:
        what = f"watch failing for {_watched(alert, titles)} ({alert.failures} polls in a row)"
    else:
        what = f"watch recovered for {_watched(alert, titles)}"
    return titled([alert.platform], what, titles)


def quota_message(data: dict[str, Any], renderer: Renderer) -> tuple[str, str]:
    """Title and body of a `quota.exhausted` alert: no poll of the platform until it resets."""
    platform = str(data.get("platform", ""))
    named = renderer.text(platforms_named([platform]))
    when = "this month" if data.get("period") == "month" else "today"
    resets = renderer.text(str(data.get("resets_at", "")))
    title = titled([platform], "request quota spent", renderer.title)
    body = renderer.lines(
        [
            f"All {data.get('limit')} requests to {named} allowed {when} are spent.",
            f"No watch of {named} is polled until the quota resets at {resets}.",
        ]
    )
    return title, body


def alert_body(alert: Alert, renderer: Renderer) -> str:
    """What happened and what watcher does next; the error is ours, but may quote a server."""
    where = f"{_watched(alert, renderer)} on {renderer.text(platforms_named([alert.platform]))}"
    if alert.type == FAILING:
        error = renderer.text(alert.error or "unknown error", ERROR_MAX)
        return renderer.lines(
            [
                f"The last {alert.failures} polls of {where} failed.",
                f"Last error: {error}",
                "watcher keeps polling and sends one message when it works again.",
            ]
        )
    return renderer.lines(
        [
            f"Polling {where} works again after {alert.failures} failed polls.",
            "Changes made meanwhile are reported as usual.",
        ]
    )


def notify_test_title(notifier: str, renderer: Renderer) -> str:
    return f"watcher test message ({renderer.title.text(notifier)})"


def notify_test_body(notifier: str, renderer: Renderer) -> str:
    return renderer.lines(
        [
            f"Notifier {renderer.text(notifier)} works: watcher can reach this service.",
            "Follow and unfollow messages will arrive here.",
        ]
    )


# -- length ------------------------------------------------------------------------------------

# Room a service may use to put the title into the body (`# title\n`, `<b>title</b><br />\r\n`).
TITLE_OVERHEAD = 16


def _marker(index: int, total: int, line_end: str) -> str:
    return f"(part {index}/{total}){line_end}"


def split_message(title: str, body: str, max_len: int, *, line_end: str = "") -> list[str]:
    """`body` as one or more bodies that each fit `max_len` together with `title`.

    The title is counted (with some room for joining it) because several services put it into
    the body and measure both together; pass "" when the service's title is truly separate.
    Bodies are cut only between lines, so no change is dropped or cut in half; each of several
    parts starts with a `(part i/n)` line. A single line longer than a part can hold (only with
    tiny limits such as SMS) is the one exception: it is wrapped over several parts, never
    truncated. Blank lines at the edge of a part are dropped. `line_end` closes the marker
    line as the renderer closes every line (`<br>` in HTML a service shows as it is).
    """
    room = max_len - (len(title) + TITLE_OVERHEAD if title else 0)
    if len(body) <= room:
        return [body]
    total_guess = 2
    while True:
        capacity = room - len(_marker(total_guess, total_guess, line_end)) - 1
        if capacity < 8:
            raise ValueError(f"{max_len} characters cannot hold the title and a part marker")
        chunks = _pack(body.split("\n"), capacity)
        if len(str(len(chunks))) <= len(str(total_guess)):
            break
        total_guess = len(chunks)
    total = len(chunks)
    return [
        f"{_marker(index, total, line_end)}\n{chunk}" for index, chunk in enumerate(chunks, start=1)
    ]


def _pack(lines: list[str], capacity: int) -> list[str]:
    """Greedy: as many whole lines per chunk as fit; over-long lines wrapped on their own."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        pieces = [line] if len(line) <= capacity else _wrap(line, capacity)
        for piece in pieces:
            extra = len(piece) + (1 if current else 0)
            if current and size + extra > capacity:
                chunks.append(_trim_blank(current))
                current, size = [], 0
                extra = len(piece)
            if not current and not piece.strip():
                continue
            current.append(piece)
            size += extra
    if current:
        chunks.append(_trim_blank(current))
    return [chunk for chunk in chunks if chunk]


def _trim_blank(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n")


_TRAILING_ENTITY = re.compile(r"&[#A-Za-z0-9]{0,10}$")


def _wrap(line: str, capacity: int) -> list[str]:
    """Cut a line into pieces of at most `capacity`, never inside a `\\x` escape or an entity."""
    pieces: list[str] = []
    rest = line
    while len(rest) > capacity:
        cut = capacity
        head = rest[:cut]
        entity = _TRAILING_ENTITY.search(head)
        if entity and entity.start() > 0:
            cut = entity.start()
        backslashes = len(rest[:cut]) - len(rest[:cut].rstrip("\\"))
        if backslashes % 2 and cut > 1:
            cut -= 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return pieces
