"""Events as chat messages that a stranger's display name cannot abuse.

Names and handles come from whoever created the account. In a chat message they could ping a
whole server (`@everyone`, `<@&role>`, `<!channel>`), smuggle a link (`[login](https://evil)`,
a bare `evil.example`), break the layout (newlines, `**`, list markers) or reverse the text that
follows (bidi overrides). Every platform-supplied string therefore goes through `_plain` (one
bounded line without control or bidi characters), `_defuse` (a zero-width space that keeps the
text readable but stops mentions and autolinks) and finally the escaping of the output format.
The only link in a message is the profile URL we rebuild from the platform's known profile
address.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any, Literal, cast, get_args
from urllib.parse import quote, unquote, urlsplit

from watcher.alerts import FAILING, Alert
from watcher.events import Event
from watcher.platforms import registry
from watcher.platforms.base import Profile
from watcher.wording import sentence, shows_name

Format = Literal["markdown", "html", "text"]
FORMATS: tuple[str, ...] = get_args(Format)

ZWSP = "\u200b"
NAME_MAX = 80
HANDLE_MAX = 60
URL_MAX = 400

# Bidi embeddings, overrides, isolates and marks, plus the BOM: invisible, and able to make
# the rest of a line read backwards.
_INVISIBLE = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Control characters and Unicode line/paragraph separators: a name must stay on its line.
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]+")
# Stacks of combining marks ("zalgo") spill over the lines around them; three per letter is
# plenty for any real script.
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_MARK_PILE = re.compile(f"([{_MARKS}]{{3}})[{_MARKS}]+")
_SCHEME_SEP = re.compile(r":(?=//)")
_DOMAIN_DOT = re.compile(r"(?<=[^\W_])\.(?=[^\W_])")
# Everything CommonMark (and Discord, Slack after Apprise's conversion) gives a meaning to.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~=&])")
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")


# -- one platform string, made safe -------------------------------------------------------------


def _plain(value: str, limit: int) -> str:
    """One line of at most `limit` characters without control, bidi or piled-up marks."""
    text = _MARK_PILE.sub(r"\1", _INVISIBLE.sub("", value))
    text = " ".join(_BREAKS.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _defuse(text: str) -> str:
    """Break mentions, angle-bracket syntaxes and autolinks with a zero-width space.

    After every `@` (`@everyone`, `@here`, `@user`, and Discord's `<@123>` / `<@&123>`, which
    Apprise's Discord plugin would otherwise turn into real pings), after every `<` (Slack's
    `<!channel>`, `<@U123>`, `<http://x|label>`, Discord's `<#123>`), between a scheme and `//`,
    and after a dot inside a word, so `evil.example` is no longer a domain to autolink.
    """
    text = text.replace("@", "@" + ZWSP).replace("<", "<" + ZWSP)
    text = _SCHEME_SEP.sub(":" + ZWSP, text)
    return _DOMAIN_DOT.sub("." + ZWSP, text)


def _escape(text: str, fmt: Format) -> str:
    if fmt == "markdown":
        return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    if fmt == "html":
        return html.escape(text, quote=True)
    return text


def _check_format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise ValueError(f"unknown message format {fmt!r}; use one of {', '.join(FORMATS)}")
    return cast(Format, fmt)


def safe_text(value: str, fmt: str, limit: int = NAME_MAX) -> str:
    """A platform-supplied string ready to place inside a message of format `fmt`."""
    return _escape(_defuse(_plain(value, limit)), _check_format(fmt))


# -- profiles ----------------------------------------------------------------------------------


def _handle(profile: Profile, fmt: Format) -> str:
    """`@handle`, where the `@` of our own making cannot ping either (Telegram, Mattermost)."""
    return "@" + ZWSP + safe_text(profile.handle.lstrip("@"), fmt, HANDLE_MAX)


def _name(profile: Profile, fmt: Format) -> str:
    return safe_text(profile.name.strip() or profile.handle.lstrip("@"), fmt, NAME_MAX)


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


def _who(event: Event, fmt: Format, *, link: bool) -> str:
    """The other account as `@handle (Name)` (the name only when it adds to the handle; see
    `wording.person`), the handle linked to the profile when asked and possible."""
    target = event.target
    handle = _handle(target, fmt)
    url = profile_url(event.platform, target) if link else None
    if url is not None and fmt == "markdown":
        handle = f"[{handle}]({url})"
    elif url is not None and fmt == "html":
        handle = f'<a href="{html.escape(url, quote=True)}">{handle}</a>'
    who = f"{handle} ({_name(target, fmt)})" if shows_name(target.handle, target.name) else handle
    return f"{who} {url}" if url is not None and fmt == "text" else who


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


def digest_title(events: Sequence[Event], fmt: str = "text") -> str:
    """`@Audius followed 2, unfollowed 1` or `@Audius gained 3 followers, lost 1`.

    `fmt` matters when a service shows the title inside the body (it is escaped to match).
    """
    form = _check_format(fmt)
    first = _one_watch(events)
    added = sum(1 for event in events if _is_added(event))
    removed = len(events) - added
    who = _handle(first.account, form)
    if first.relation == "following":
        parts = [f"followed {added}"] if added else []
        if removed:
            parts.append(f"unfollowed {removed}")
    else:
        parts = [f"gained {added} {_followers(added)}"] if added else []
        if removed:
            parts.append(f"lost {removed}" if added else f"lost {removed} {_followers(removed)}")
    return f"{who} {', '.join(parts)}"


def _followers(count: int) -> str:
    return "follower" if count == 1 else "followers"


def _headings(relation: str, added: int, removed: int) -> tuple[str, str]:
    if relation == "following":
        return f"Followed ({added})", f"Unfollowed ({removed})"
    return f"New followers ({added})", f"Lost followers ({removed})"


def digest_body(events: Sequence[Event], fmt: str) -> str:
    """One line per change, added first then removed, each under a heading line.

    Every line stands alone (no multi-line markup), so `split_message` can cut between any two.
    """
    form = _check_format(fmt)
    first = _one_watch(events)
    added = [event for event in events if _is_added(event)]
    removed = [event for event in events if not _is_added(event)]
    heading_added, heading_removed = _headings(first.relation, len(added), len(removed))
    lines: list[str] = []
    for heading, group, marker in (
        (heading_added, added, "+"),
        (heading_removed, removed, "-"),
    ):
        if not group:
            continue
        if lines:
            lines.append("")
        lines.append(_heading_line(heading, form))
        lines.extend(_item_line(event, form, marker) for event in group)
    return "\n".join(lines)


def _heading_line(heading: str, fmt: Format) -> str:
    if fmt == "markdown":
        return f"**{heading}**"
    if fmt == "html":
        return f"<b>{heading}</b><br>"
    return f"{heading}:"


def _item_line(event: Event, fmt: Format, marker: str) -> str:
    line = _sentence(event, fmt, link=True)
    if fmt == "markdown":
        return f"- {line}"
    if fmt == "html":
        return f"{'&bull;' if marker == '+' else '&ndash;'} {line}<br>"
    return f"{marker} {line}"


def _sentence(event: Event, fmt: Format, *, link: bool) -> str:
    """The event's sentence (`wording.sentence`), each account rendered for `fmt`."""
    return sentence(event.type, _handle(event.account, fmt), _who(event, fmt, link=link))


def event_title(event: Event, fmt: str = "text") -> str:
    """`@Audius followed @handle (Name)` / `@handle (Name) stopped following @Audius`; no
    link."""
    return _sentence(event, _check_format(fmt), link=False)


def event_body(event: Event, fmt: str) -> str:
    """The one-event message: the same sentence, with the target's profile linked."""
    form = _check_format(fmt)
    line = _sentence(event, form, link=True)
    if form == "html":
        return f"{line}<br>"
    return line


# -- failure alerts and test messages ----------------------------------------------------------

ERROR_MAX = 300


def _watched(alert: Alert, fmt: Format) -> str:
    """`@Audius following`: the handle once known, else the account as the config names it."""
    who = _handle(alert.account, fmt) if alert.resolved else safe_text(alert.account.name, fmt)
    return f"{who} {alert.relation}"


def _lines(lines: Sequence[str], fmt: Format) -> str:
    return "\n".join(f"{line}<br>" if fmt == "html" else line for line in lines)


def alert_title(alert: Alert, fmt: str = "text") -> str:
    """`Watch failing: @Audius following (3 polls in a row)` / `Watch recovered: ...`."""
    form = _check_format(fmt)
    if alert.type == FAILING:
        return f"Watch failing: {_watched(alert, form)} ({alert.failures} polls in a row)"
    return f"Watch recovered: {_watched(alert, form)}"


def quota_message(data: dict[str, Any], fmt: str) -> tuple[str, str]:
    """Title and body of a `quota.exhausted` alert: no poll of the platform until it resets."""
    form = _check_format(fmt)
    platform = safe_text(str(data.get("platform", "")), form)
    when = "this month" if data.get("period") == "month" else "today"
    resets = safe_text(str(data.get("resets_at", "")), form)
    title = f"Quota spent: {platform}"
    body = _lines(
        [
            f"All {data.get('limit')} requests to {platform} allowed {when} are spent.",
            f"No watch of {platform} is polled until the quota resets at {resets}.",
        ],
        form,
    )
    return title, body


def alert_body(alert: Alert, fmt: str) -> str:
    """What happened and what watcher does next; the error is ours, but may quote a server."""
    form = _check_format(fmt)
    where = f"{_watched(alert, form)} on {safe_text(alert.platform, form)}"
    if alert.type == FAILING:
        error = safe_text(alert.error or "unknown error", form, ERROR_MAX)
        return _lines(
            [
                f"The last {alert.failures} polls of {where} failed.",
                f"Last error: {error}",
                "watcher keeps polling and sends one message when it works again.",
            ],
            form,
        )
    return _lines(
        [
            f"Polling {where} works again after {alert.failures} failed polls.",
            "Changes made meanwhile are reported as usual.",
        ],
        form,
    )


def notify_test_title(notifier: str, fmt: str = "text") -> str:
    return f"watcher test message ({safe_text(notifier, _check_format(fmt))})"


def notify_test_body(notifier: str, fmt: str) -> str:
    form = _check_format(fmt)
    return _lines(
        [
            f"Notifier {safe_text(notifier, form)} works: watcher can reach this service.",
            "Follow and unfollow messages will arrive here.",
        ],
        form,
    )


# -- length ------------------------------------------------------------------------------------

# Room a service may use to put the title into the body (`# title\n`, `<b>title</b><br />\r\n`).
TITLE_OVERHEAD = 16


def _marker(index: int, total: int, fmt: str) -> str:
    text = f"(part {index}/{total})"
    return f"{text}<br>" if fmt == "html" else text


def split_message(title: str, body: str, max_len: int, *, fmt: str = "text") -> list[str]:
    """`body` as one or more bodies that each fit `max_len` together with `title`.

    The title is counted (with some room for joining it) because several services put it into
    the body and measure both together; pass "" when the service's title is truly separate.
    Bodies are cut only between lines, so no change is dropped or cut in half; each of several
    parts starts with a `(part i/n)` line. A single line longer than a part can hold (only with
    tiny limits such as SMS) is the one exception: it is wrapped over several parts, never
    truncated. Blank lines at the edge of a part are dropped.
    """
    room = max_len - (len(title) + TITLE_OVERHEAD if title else 0)
    if len(body) <= room:
        return [body]
    total_guess = 2
    while True:
        capacity = room - len(_marker(total_guess, total_guess, fmt)) - 1
        if capacity < 8:
            raise ValueError(f"{max_len} characters cannot hold the title and a part marker")
        chunks = _pack(body.split("\n"), capacity)
        if len(str(len(chunks))) <= len(str(total_guess)):
            break
        total_guess = len(chunks)
    total = len(chunks)
    return [f"{_marker(index, total, fmt)}\n{chunk}" for index, chunk in enumerate(chunks, start=1)]


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
