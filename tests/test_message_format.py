"""Chat messages built from events: counts, layout, and names from strangers made harmless."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from watcher.events import Event
from watcher.platforms.base import Profile, Relation
from watcher.sinks.message import (
    FORMATS,
    ZWSP,
    digest_body,
    digest_title,
    event_body,
    event_title,
    profile_url,
    safe_text,
    split_message,
)

MOMENT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ACCOUNT = Profile(id="1", handle="Audius", name="Audius", url="https://audius.co/Audius")

MENTIONS = [
    "@everyone",
    "@here",
    "<@123>",
    "<@!123>",
    "<@&123456>",
    "<#123>",
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
]
HOSTILE = [
    *MENTIONS,
    "<http://x|label>",
    "[click](https://evil.example)",
    "**bold**",
    "<script>alert(1)</script>",
    "abc\u202etxt.exe",
    "a\n@everyone",
    "x" * 5000,
]


def make_event(
    name: str = "Someone",
    *,
    handle: str = "someone",
    added: bool = True,
    relation: Relation = "following",
    url: str | None = None,
    target_id: str = "2",
) -> Event:
    target = Profile(
        id=target_id,
        handle=handle,
        name=name,
        url=url if url is not None else f"https://audius.co/{handle}",
    )
    return Event.create(
        platform="audius",
        relation=relation,
        added=added,
        account=ACCOUNT,
        target=target,
        moment=MOMENT,
    )


def visible(text: str) -> str:
    """What a reader sees: the zero-width spaces we insert are invisible."""
    return text.replace(ZWSP, "")


def digest_of(*names: str, fmt: str, added: bool = True) -> str:
    events = [
        make_event(name, handle=f"user{i}", added=added, target_id=str(i + 10))
        for i, name in enumerate(names)
    ]
    return digest_body(events, fmt)


def test_title_counts_follows_and_unfollows() -> None:
    events = [make_event(added=True), make_event(added=True), make_event(added=False)]

    assert visible(digest_title(events)) == "@Audius followed 2, unfollowed 1"
    assert visible(digest_title(events[:1])) == "@Audius followed 1"
    assert visible(digest_title(events[2:])) == "@Audius unfollowed 1"


def test_title_counts_gained_and_lost_followers() -> None:
    gained = [make_event(relation="followers", added=True) for _ in range(3)]
    lost = [make_event(relation="followers", added=False)]

    assert visible(digest_title(gained + lost)) == "@Audius gained 3 followers, lost 1"
    assert visible(digest_title(gained[:1])) == "@Audius gained 1 follower"
    assert visible(digest_title(lost * 2)) == "@Audius lost 2 followers"


def test_title_of_our_own_account_cannot_ping_it() -> None:
    title = digest_title([make_event()])

    assert "@Audius" not in title
    assert title.startswith("@" + ZWSP)


def test_digest_refuses_events_of_different_watches() -> None:
    following = make_event(relation="following")
    followers = make_event(relation="followers")

    with pytest.raises(ValueError, match="one watch"):
        digest_title([following, followers])
    with pytest.raises(ValueError, match="at least one"):
        digest_body([], "text")


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown message format"):
        digest_body([make_event()], "bbcode")


@pytest.mark.parametrize("fmt", FORMATS)
def test_body_lists_added_then_removed_each_with_name_handle_and_link(fmt: str) -> None:
    events = [
        make_event("Gone Guy", handle="gone", added=False, target_id="3"),
        make_event("New Gal", handle="newgal", added=True, target_id="4"),
    ]

    lines = [line for line in visible(digest_body(events, fmt)).split("\n") if line]

    assert len(lines) == 4
    assert "Followed (1)" in lines[0] and "Unfollowed (1)" in lines[2]
    for line, (name, handle) in zip(
        lines[1::2], [("New Gal", "newgal"), ("Gone Guy", "gone")], strict=True
    ):
        assert name in line and f"@{handle}" in line and f"https://audius.co/{handle}" in line


@pytest.mark.parametrize("fmt", FORMATS)
def test_follower_digest_has_follower_headings(fmt: str) -> None:
    events = [
        make_event(relation="followers", added=True, target_id="3"),
        make_event(relation="followers", added=False, target_id="4"),
    ]

    body = digest_body(events, fmt)

    assert "New followers (1)" in body and "Lost followers (1)" in body


# -- hostile names ------------------------------------------------------------------------------

# Anything a chat service would read as a ping: Discord and Slack angle syntaxes, and an `@`
# directly followed by a word (Apprise's Discord plugin turns `@name` into allowed mentions).
PING = re.compile(r"<[@#!]|@[\w&!]")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", MENTIONS)
def test_mentions_in_names_cannot_ping(fmt: str, name: str) -> None:
    body = digest_of(name, fmt=fmt)
    title = event_title(make_event(name), fmt)

    assert PING.search(body) is None
    assert PING.search(title) is None


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["@everyone", "<@&123456>", "<!channel>"])
def test_neutralised_mentions_still_read_as_written(fmt: str, name: str) -> None:
    shown = visible(safe_text(name, fmt))

    if fmt == "markdown":
        shown = re.sub(r"\\(.)", r"\1", shown)
    if fmt == "html":
        shown = html.unescape(shown)
    assert shown == name


@pytest.mark.parametrize("fmt", FORMATS)
def test_slack_link_syntax_in_a_name_is_not_a_link(fmt: str) -> None:
    body = digest_of("<http://x|label>", fmt=fmt)

    assert "<http" not in body
    assert "http://x" not in body


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "name", ["[click](https://evil.example)", "https://evil.example/login", "evil.example"]
)
def test_links_in_names_are_not_links(fmt: str, name: str) -> None:
    body = digest_of(name, fmt=fmt, added=True)

    assert "https://evil" not in body
    assert "evil.example" not in body
    assert only_links(body, fmt) == ["https://audius.co/user0"]


def only_links(body: str, fmt: str) -> list[str]:
    """Every link target a renderer of `fmt` would find in `body`."""
    if fmt == "markdown":
        return re.findall(r"(?<!\\)\]\((?!\\)([^)\s]*)\)", body)
    if fmt == "html":
        return re.findall(r"href=\"([^\"]*)\"", body)
    return re.findall(r"https?://[^\s)]+", body)


MARKDOWN_SPECIALS = set("\\`*_{}[]()<>#+-.!|~")


def unescaped_markdown(text: str) -> list[str]:
    """Markdown-special characters in `text` that are not preceded by a backslash escape."""
    found = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in MARKDOWN_SPECIALS:
            index += 2
            continue
        if char in MARKDOWN_SPECIALS:
            found.append(char)
        index += 1
    return found


@pytest.mark.parametrize(
    "name",
    ["**bold**", "__under__", "~~strike~~", "`code`", "||spoiler||", "> quote", "# Heading", "a\\"],
)
def test_markdown_in_names_is_escaped(name: str) -> None:
    escaped = safe_text(name, "markdown")

    assert unescaped_markdown(escaped) == []
    assert re.sub(r"\\(.)", r"\1", visible(escaped)) == name


@pytest.mark.parametrize(
    "name", ["- item", "+ item", "* item", "1. item", "2) item", "# heading", "> quote"]
)
def test_names_at_the_start_of_a_line_cannot_make_lists_or_headings(name: str) -> None:
    # A follower's handle and name open the title; as a handle, too, they are escaped.
    title = event_title(make_event(name, handle=name, relation="followers"), "markdown")

    assert re.match(r"(?:[-+*>#]|\d+[.)])\s", title) is None
    assert re.sub(r"\\(.)", r"\1", visible(title)).startswith(f"@{name}")


def test_html_in_names_is_escaped() -> None:
    body = digest_of("<script>alert(1)</script>", '"quoted" & <b>bold</b>', fmt="html")

    assert "<script" not in body and "<b>bold" not in body
    assert "&lt;" in body and "&amp;" in body and "&quot;" in body
    assert only_links(body, "html") == ["https://audius.co/user0", "https://audius.co/user1"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "char", ["\u202e", "\u202d", "\u2066", "\u2067", "\u200f", "\x1b", "\x00", "\x7f", "\u2028"]
)
def test_control_and_bidi_characters_are_removed(fmt: str, char: str) -> None:
    body = digest_of(f"abc{char}txt.exe", fmt=fmt)

    assert char not in body


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["a\n@everyone", "a\r\n- fake", "a\u2029# fake", "a\x85x"])
def test_a_name_cannot_start_a_new_line(fmt: str, name: str) -> None:
    body = digest_of(name, fmt=fmt)

    assert len(body.split("\n")) == 2
    assert PING.search(body) is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_very_long_names_and_handles_are_shortened(fmt: str) -> None:
    event = make_event("n" * 10_000, handle="h" * 10_000)

    body = digest_body([event], fmt)
    title = event_title(event, fmt)

    assert max(len(line) for line in body.split("\n")) < 600
    assert len(title) < 300
    assert "…" in visible(body)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", HOSTILE)
def test_every_hostile_name_leaves_only_our_profile_link(fmt: str, name: str) -> None:
    body = event_body(make_event(name, handle="user0"), fmt)

    assert only_links(body, fmt) == ["https://audius.co/user0"]
    assert PING.search(body) is None
    assert "\n" not in body.rstrip("\n")


# -- profile links ------------------------------------------------------------------------------


def test_profile_on_a_foreign_host_is_shown_without_a_link() -> None:
    event = make_event("Phisher", url="https://evil.example/audius")

    body = digest_body([event], "markdown")

    assert "evil" not in body
    assert "Phisher" in body
    assert only_links(body, "markdown") == []


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "https://user:pw@audius.co/x", "ftp://audius.co/x", "not a url"],
)
def test_untrustworthy_profile_urls_are_not_linked(url: str) -> None:
    assert profile_url("audius", make_event(url=url).target) is None


def test_markup_in_a_profile_url_is_percent_encoded() -> None:
    event = make_event(handle='a)b<c"d e', url='https://audius.co/a)b<c"d e?x=1#y')

    url = profile_url("audius", event.target)

    assert url == "https://audius.co/a%29b%3Cc%22d%20e"
    assert only_links(digest_body([event], "markdown"), "markdown") == [url]


def test_event_title_and_body_say_who_did_what() -> None:
    follow = make_event("New Gal", handle="newgal", added=True)
    lost = make_event("Gone Guy", handle="gone", added=False, relation="followers")
    plain = make_event("newgal", handle="newgal", added=False)

    assert visible(event_title(follow)) == "@Audius followed @newgal (New Gal)"
    assert visible(event_title(lost)) == "@gone (Gone Guy) stopped following @Audius"
    assert visible(event_title(plain)) == "@Audius unfollowed @newgal"  # the name adds nothing
    assert visible(event_body(follow, "markdown")) == (
        "@Audius followed [@newgal](https://audius.co/newgal) (New Gal)"
    )
    assert visible(event_body(lost, "text")) == (
        "@gone (Gone Guy) https://audius.co/gone stopped following @Audius"
    )
    assert visible(event_body(follow, "html")) == (
        '@Audius followed <a href="https://audius.co/newgal">@newgal</a> (New Gal)<br>'
    )


def test_every_line_of_a_digest_is_the_event_sentence() -> None:
    events = [
        make_event("New Gal", handle="newgal", added=True, relation="followers", target_id="4"),
        make_event("Gone Guy", handle="gone", added=False, relation="followers", target_id="3"),
    ]

    lines = visible(digest_body(events, "text")).split("\n")

    assert lines == [
        "New followers (1):",
        "+ @newgal (New Gal) https://audius.co/newgal started following @Audius",
        "",
        "Lost followers (1):",
        "- @gone (Gone Guy) https://audius.co/gone stopped following @Audius",
    ]


# -- splitting ----------------------------------------------------------------------------------


def big_digest(count: int, fmt: str = "markdown") -> tuple[str, str]:
    events = [
        make_event(f"Person {i}", handle=f"person{i}", added=i % 3 != 0, target_id=str(i + 10))
        for i in range(count)
    ]
    return digest_title(events, fmt), digest_body(events, fmt)


def content_lines(parts: list[str]) -> list[str]:
    lines: list[str] = []
    for part in parts:
        first, _, rest = part.partition("\n")
        assert re.fullmatch(r"\(part \d+/\d+\)(<br>)?", first)
        lines.extend(line for line in rest.split("\n") if line)
    return lines


def test_a_message_that_fits_is_not_split() -> None:
    title, body = big_digest(3)

    assert split_message(title, body, 2000) == [body]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("max_len", [300, 500, 2000])
def test_split_keeps_every_line_whole_and_in_order(fmt: str, max_len: int) -> None:
    title, body = big_digest(120, fmt)

    parts = split_message(title, body, max_len, fmt=fmt)

    assert len(parts) > 1
    assert content_lines(parts) == [line for line in body.split("\n") if line]
    assert all(len(title) + 16 + len(part) <= max_len for part in parts)
    assert [part.split("\n", 1)[0].removesuffix("<br>") for part in parts] == [
        f"(part {i}/{len(parts)})" for i in range(1, len(parts) + 1)
    ]


def test_split_into_more_than_nine_parts_still_fits() -> None:
    title, body = big_digest(300)

    parts = split_message(title, body, 400)

    assert len(parts) >= 10
    assert all(len(title) + 16 + len(part) <= 400 for part in parts)
    assert parts[-1].startswith(f"(part {len(parts)}/{len(parts)})")


def test_a_line_longer_than_a_part_is_wrapped_not_dropped() -> None:
    line = "".join(f"{i:04d}" for i in range(500))

    parts = split_message("", f"short\n{line}\nend", 300)

    pieces = [part.split("\n", 1)[1] for part in parts]
    assert all(len(part) <= 300 for part in parts)
    assert "\n".join(pieces).replace("\n", "") == f"short{line}end"


def test_wrapping_never_cuts_a_markdown_escape_or_html_entity() -> None:
    markdown = safe_text("*_" * 40, "markdown", limit=1000)
    html_line = "&amp;&lt;" * 60

    for line, fmt in ((markdown, "markdown"), (html_line, "html")):
        parts = split_message("", line, 57, fmt=fmt)
        for part in parts:
            piece = part.split("\n", 1)[1]
            assert (len(piece) - len(piece.rstrip("\\"))) % 2 == 0
            assert re.search(r"&[a-z]*$", piece) is None


def test_split_refuses_a_limit_too_small_for_the_title() -> None:
    title, body = big_digest(5)

    with pytest.raises(ValueError, match="cannot hold"):
        split_message(title, body, len(title) + 20)


def test_profile_links_use_the_hosts_each_platform_declares() -> None:
    from watcher.platforms import audius_kind as audius
    from watcher.platforms import registry
    from watcher.platforms import soundcloud_kind as soundcloud

    assert registry.profile_hosts("audius") == frozenset(audius.PROFILE_HOSTS)
    assert registry.profile_hosts("soundcloud") == frozenset(soundcloud.PROFILE_HOSTS)
    assert "www.audius.co" in registry.profile_hosts("audius")  # the message list lacked it
    assert registry.profile_hosts("myspace") == frozenset()
