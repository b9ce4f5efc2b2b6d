"""Chat messages built from events: counts, layout, and names from strangers made harmless, as
each renderer writes them. (What each service finally receives, through Apprise's own
plugins, is test_service_messages.py's.)"""

from __future__ import annotations

import html
import random
import re
from datetime import UTC, datetime

import pytest

from watcher.events import Event
from watcher.platforms.base import Profile, Relation
from watcher.sinks.message import (
    digest_body,
    digest_of_watches_body,
    digest_of_watches_title,
    digest_title,
    event_body,
    event_title,
    platforms_named,
    profile_url,
    split_message,
)
from watcher.sinks.renderers import (
    DISCORD,
    DISCORD_EMBED,
    EMAIL,
    FORMATS,
    JSON,
    NAME_MAX,
    PLAIN_TEXT,
    SLACK,
    TELEGRAM,
    ZWSP,
    Renderer,
    clean,
    generic,
)

MOMENT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ACCOUNT = Profile(id="1", handle="Audius", name="Audius", url="https://audius.co/Audius")

ALL = [DISCORD, DISCORD_EMBED, SLACK, TELEGRAM, EMAIL, JSON, *(generic(f) for f in FORMATS)]
# Renderers that write mentions so they cannot ping: their services (or, for services watcher
# knows nothing of, maybe theirs) would. Slack's body is escaped by Apprise (the service
# tests), Telegram and mail have no mass mentions, json:// is read by a program.
DEFUSING = [DISCORD, DISCORD_EMBED, *(generic(f) for f in FORMATS)]
MARKDOWN = [DISCORD, DISCORD_EMBED, generic("markdown")]
LINKING = [DISCORD, DISCORD_EMBED, TELEGRAM, generic("markdown"), generic("html")]

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


def ids(renderer: Renderer) -> str:
    return f"{renderer.name}-{renderer.body_format}"


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
    """What a reader sees: the zero-width spaces that defuse mentions are invisible."""
    return text.replace(ZWSP, "")


def shown(text: str, renderer: Renderer) -> str:
    """The text a reader of `renderer`'s service sees, markup escapes resolved."""
    if renderer.markup.escape("<") == "\\<":
        text = re.sub(r"\\(.)", r"\1", text)
    elif renderer.body_format == "html":
        text = html.unescape(text)
    return visible(text)


def digest_of(*names: str, renderer: Renderer, added: bool = True) -> str:
    events = [
        make_event(name, handle=f"user{i}", added=added, target_id=str(i + 10))
        for i, name in enumerate(names)
    ]
    return digest_body(events, renderer)


def test_title_names_the_platform_and_counts_follows_and_unfollows() -> None:
    events = [make_event(added=True), make_event(added=True), make_event(added=False)]

    assert digest_title(events, PLAIN_TEXT) == "Audius: @Audius followed 2, unfollowed 1"
    assert digest_title(events[:1], PLAIN_TEXT) == "Audius: @Audius followed 1"
    assert digest_title(events[2:], PLAIN_TEXT) == "Audius: @Audius unfollowed 1"


def test_title_counts_gained_and_lost_followers() -> None:
    gained = [make_event(relation="followers", added=True) for _ in range(3)]
    lost = [make_event(relation="followers", added=False)]

    assert digest_title(gained + lost, PLAIN_TEXT) == "Audius: @Audius gained 3 followers, lost 1"
    assert digest_title(gained[:1], PLAIN_TEXT) == "Audius: @Audius gained 1 follower"
    assert digest_title(lost * 2, PLAIN_TEXT) == "Audius: @Audius lost 2 followers"


@pytest.mark.parametrize("renderer", [r for r in ALL if r is not DISCORD_EMBED], ids=ids)
def test_ordinary_handles_stay_copyable(renderer: Renderer) -> None:
    event = make_event("New Gal", handle="new_gal")

    for text in (digest_title([event], renderer), event_title(event, renderer)):
        assert ZWSP not in text
        assert "@Audius" in text
    assert ZWSP not in digest_body([event], renderer)


def test_discord_embeds_defuse_every_at_because_apprise_reads_each_as_a_ping() -> None:
    body = event_body(make_event("New Gal", handle="gal"), DISCORD_EMBED)

    assert body == f"@{ZWSP}Audius followed [@{ZWSP}gal](https://audius.co/gal) (New Gal)"
    assert ZWSP not in event_title(make_event("New Gal", handle="gal"), DISCORD_EMBED)


def test_digest_refuses_events_of_different_watches() -> None:
    following = make_event(relation="following")
    followers = make_event(relation="followers")

    with pytest.raises(ValueError, match="one watch"):
        digest_title([following, followers], PLAIN_TEXT)
    with pytest.raises(ValueError, match="at least one"):
        digest_body([], PLAIN_TEXT)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown message format"):
        generic("bbcode")


@pytest.mark.parametrize("renderer", ALL, ids=ids)
def test_body_lists_added_then_removed_each_with_name_handle_and_link(renderer: Renderer) -> None:
    events = [
        make_event("Gone Guy", handle="gone", added=False, target_id="3"),
        make_event("New Gal", handle="newgal", added=True, target_id="4"),
    ]

    lines = [line for line in visible(digest_body(events, renderer)).split("\n") if line]

    assert len(lines) == 4
    assert "Followed (1)" in lines[0] and "Unfollowed (1)" in lines[2]
    for line, (name, handle) in zip(
        lines[1::2], [("New Gal", "newgal"), ("Gone Guy", "gone")], strict=True
    ):
        assert name in line and f"@{handle}" in line and f"https://audius.co/{handle}" in line


@pytest.mark.parametrize("renderer", ALL, ids=ids)
def test_follower_digest_has_follower_headings(renderer: Renderer) -> None:
    events = [
        make_event(relation="followers", added=True, target_id="3"),
        make_event(relation="followers", added=False, target_id="4"),
    ]

    body = digest_body(events, renderer)

    assert "New followers (1)" in body and "Lost followers (1)" in body


# -- hostile names ------------------------------------------------------------------------------

# Anything a chat service would read as a ping: Discord's and Slack's angle syntaxes (unless
# their `<` is escaped), a Discord user or role mention, and a mass mention.
PING = re.compile(r"(?<!\\)<[@#!](?!\u200b)|<@[!&]?\d|@(?:everyone|here|channel)")


@pytest.mark.parametrize("renderer", DEFUSING, ids=ids)
@pytest.mark.parametrize("name", MENTIONS)
def test_mentions_in_names_cannot_ping(renderer: Renderer, name: str) -> None:
    body = digest_of(name, renderer=renderer)
    title = event_title(make_event(name), renderer)

    assert PING.search(body) is None
    assert PING.search(title) is None


@pytest.mark.parametrize("renderer", DEFUSING, ids=ids)
@pytest.mark.parametrize("name", ["@everyone", "<@&123456>", "<!channel>"])
def test_neutralised_mentions_still_read_as_written(renderer: Renderer, name: str) -> None:
    assert shown(renderer.text(name), renderer) == name


@pytest.mark.parametrize("renderer", ALL, ids=ids)
@pytest.mark.parametrize("name", ["@\u200beveryone", "a\u2060b\u00adc", "\ufeffx\u180ey"])
def test_invisible_characters_in_names_are_dropped(renderer: Renderer, name: str) -> None:
    """A zero-width space a stranger put into a name does not survive: names stay copyable,
    and a disguised `@everyone` is seen (and defused where it would ping) as what it is."""
    text = renderer.text(name)

    assert not any(char in text for char in "\u2060\u00ad\ufeff\u180e")
    assert shown(text, renderer) in ("@everyone", "abc", "xy")


@pytest.mark.parametrize("renderer", [r for r in ALL if r.markup.escape("<") != "<"], ids=ids)
def test_slack_link_syntax_in_a_name_is_not_a_link(renderer: Renderer) -> None:
    body = digest_of("<http://x|label>", renderer=renderer)

    assert re.search(r"(?<!\\)<http", body) is None


@pytest.mark.parametrize("renderer", LINKING, ids=ids)
@pytest.mark.parametrize(
    "name", ["[click](https://evil.example)", "https://evil.example/login", "evil.example"]
)
def test_links_in_names_are_text_not_links(renderer: Renderer, name: str) -> None:
    """A web address in a name stays visible as written (a chat app may make it clickable, as
    in any message); it never becomes a link hidden behind other words."""
    body = digest_of(name, renderer=renderer, added=True)

    assert only_links(body, renderer) == ["https://audius.co/user0"]
    assert name in shown(body, renderer)


def only_links(body: str, renderer: Renderer) -> list[str]:
    """Every link target a renderer of `renderer`'s markup would find in `body`."""
    if renderer.body_format == "html":
        return re.findall(r"href=\"([^\"]*)\"", body)
    if renderer.markup.labelled_links:
        return re.findall(r"(?<!\\)\]\((?!\\)([^)\s]*)\)", body)
    return re.findall(r"https?://[^\s)]+", body)


def unescaped_markdown(text: str, specials: str) -> list[str]:
    """Markdown-special characters in `text` that are not preceded by a backslash escape."""
    found = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in specials:
            index += 2
            continue
        if char in specials:
            found.append(char)
        index += 1
    return found


@pytest.mark.parametrize(
    ("renderer", "specials"),
    [(DISCORD, "\\`*_[]<>|~"), (generic("markdown"), "\\`*_{}[]()<>#+-.!|~")],
    ids=["discord", "commonmark"],
)
@pytest.mark.parametrize(
    "name",
    ["**bold**", "__under__", "~~strike~~", "`code`", "||spoiler||", "> quote", "# Heading", "a\\"],
)
def test_markdown_in_names_is_escaped(renderer: Renderer, specials: str, name: str) -> None:
    escaped = renderer.text(name)

    assert unescaped_markdown(escaped, specials) == []
    assert shown(escaped, renderer) == name


@pytest.mark.parametrize("renderer", MARKDOWN, ids=ids)
@pytest.mark.parametrize(
    "name", ["- item", "+ item", "* item", "1. item", "2) item", "# heading", "> quote"]
)
def test_names_never_start_a_line_so_they_cannot_make_lists_or_headings(
    renderer: Renderer, name: str
) -> None:
    # A follower's handle and name open the sentence; the handle's `@` comes first.
    event = make_event(name, handle=name, relation="followers")

    for text in (event_title(event, renderer), event_body(event, renderer)):
        assert re.match(r"(?:[-+*>#]|\d+[.)])\s", text) is None
        assert shown(text, renderer).startswith(("Audius: @", "[@"))


def test_html_in_names_is_escaped() -> None:
    body = digest_of(
        "<script>alert(1)</script>", '"quoted" & <b>bold</b>', renderer=generic("html")
    )

    assert "<script" not in body and "<b>bold" not in body
    assert "&lt;" in body and "&amp;" in body and "&quot;" in body
    assert only_links(body, generic("html")) == [
        "https://audius.co/user0",
        "https://audius.co/user1",
    ]


@pytest.mark.parametrize("renderer", ALL, ids=ids)
@pytest.mark.parametrize(
    "char", ["\u202e", "\u202d", "\u2066", "\u2067", "\u200f", "\x1b", "\x00", "\x7f", "\u2028"]
)
def test_control_and_bidi_characters_are_removed(renderer: Renderer, char: str) -> None:
    body = digest_of(f"abc{char}txt.exe", renderer=renderer)

    assert char not in body


@pytest.mark.parametrize("renderer", ALL, ids=ids)
@pytest.mark.parametrize("name", ["a\n@everyone", "a\r\n- fake", "a\u2029# fake", "a\x85x"])
def test_a_name_cannot_start_a_new_line(renderer: Renderer, name: str) -> None:
    body = digest_of(name, renderer=renderer)

    assert len(body.split("\n")) == 2


@pytest.mark.parametrize("renderer", ALL, ids=ids)
def test_very_long_names_and_handles_are_shortened(renderer: Renderer) -> None:
    event = make_event("n" * 10_000, handle="h" * 10_000)

    body = digest_body([event], renderer)
    title = event_title(event, renderer)

    assert max(len(line) for line in body.split("\n")) < 600
    assert len(title) < 300
    assert "…" in visible(body)


@pytest.mark.parametrize("renderer", [*DEFUSING, TELEGRAM], ids=ids)
@pytest.mark.parametrize("name", HOSTILE)
def test_every_hostile_name_leaves_only_our_profile_link(renderer: Renderer, name: str) -> None:
    body = event_body(make_event(name, handle="user0"), renderer)

    if renderer.markup.labelled_links:
        assert only_links(body, renderer) == ["https://audius.co/user0"]
    if renderer in DEFUSING:
        assert PING.search(body) is None
    assert "\n" not in body.rstrip("\n")


# -- profile links ------------------------------------------------------------------------------


def test_profile_on_a_foreign_host_is_shown_without_a_link() -> None:
    event = make_event("Phisher", url="https://evil.example/audius")

    body = digest_body([event], DISCORD)

    assert "evil" not in body
    assert "Phisher" in body
    assert only_links(body, DISCORD) == []


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
    assert only_links(digest_body([event], DISCORD), DISCORD) == [url]


def test_event_title_and_body_say_who_did_what() -> None:
    follow = make_event("New Gal", handle="newgal", added=True)
    lost = make_event("Gone Guy", handle="gone", added=False, relation="followers")
    plain = make_event("newgal", handle="newgal", added=False)

    assert event_title(follow, PLAIN_TEXT) == "Audius: @Audius followed @newgal (New Gal)"
    assert event_title(lost, PLAIN_TEXT) == "Audius: @gone (Gone Guy) stopped following @Audius"
    assert event_title(plain, PLAIN_TEXT) == "Audius: @Audius unfollowed @newgal"
    assert event_body(follow, DISCORD) == (
        "@Audius followed [@newgal](https://audius.co/newgal) (New Gal)"
    )
    assert event_body(lost, PLAIN_TEXT) == (
        "@gone (Gone Guy) https://audius.co/gone stopped following @Audius"
    )
    assert event_body(follow, TELEGRAM) == (
        '@Audius followed <a href="https://audius.co/newgal">@newgal</a> (New Gal)'
    )
    assert event_body(follow, generic("html")) == (
        '@Audius followed <a href="https://audius.co/newgal">@newgal</a> (New Gal)<br>'
    )


def test_every_line_of_a_digest_is_the_event_sentence() -> None:
    events = [
        make_event("New Gal", handle="newgal", added=True, relation="followers", target_id="4"),
        make_event("Gone Guy", handle="gone", added=False, relation="followers", target_id="3"),
    ]

    lines = digest_body(events, PLAIN_TEXT).split("\n")

    assert lines == [
        "New followers (1):",
        "+ @newgal (New Gal) https://audius.co/newgal started following @Audius",
        "",
        "Lost followers (1):",
        "- @gone (Gone Guy) https://audius.co/gone stopped following @Audius",
    ]


# -- splitting ----------------------------------------------------------------------------------


def big_digest(count: int, renderer: Renderer = DISCORD) -> tuple[str, str]:
    events = [
        make_event(f"Person {i}", handle=f"person{i}", added=i % 3 != 0, target_id=str(i + 10))
        for i in range(count)
    ]
    return digest_title(events, renderer), digest_body(events, renderer)


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


@pytest.mark.parametrize("renderer", [DISCORD, TELEGRAM, PLAIN_TEXT, generic("html")], ids=ids)
@pytest.mark.parametrize("max_len", [300, 500, 2000])
def test_split_keeps_every_line_whole_and_in_order(renderer: Renderer, max_len: int) -> None:
    title, body = big_digest(120, renderer)
    line_end = renderer.markup.line_end

    parts = split_message(title, body, max_len, line_end=line_end)

    assert len(parts) > 1
    assert content_lines(parts) == [line for line in body.split("\n") if line]
    assert all(len(title) + 16 + len(part) <= max_len for part in parts)
    assert [part.split("\n", 1)[0] for part in parts] == [
        f"(part {i}/{len(parts)}){line_end}" for i in range(1, len(parts) + 1)
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
    markdown = generic("markdown").text("*_" * 40, limit=1000)
    html_line = "&amp;&lt;" * 60

    for line, line_end in ((markdown, ""), (html_line, "<br>")):
        parts = split_message("", line, 57, line_end=line_end)
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


# -- titles across platforms, and any name at all -----------------------------------------------


def test_titles_name_each_platform_a_message_is_about() -> None:
    scout = Profile(id="9", handle="scout", name="Scout", url="https://soundcloud.com/scout")
    on_soundcloud = Event.create(
        platform="soundcloud",
        relation="following",
        added=True,
        account=scout,
        target=Profile(id="8", handle="dj", name="DJ", url="https://soundcloud.com/dj"),
        moment=MOMENT,
    )
    both = [make_event(), make_event(added=False), on_soundcloud]

    assert digest_title([on_soundcloud], PLAIN_TEXT) == "SoundCloud: @scout followed 1"
    assert digest_of_watches_title(both, PLAIN_TEXT) == (
        "Audius and SoundCloud: 3 changes on 2 watches"
    )
    assert digest_of_watches_title(both, TELEGRAM).startswith("Audius and SoundCloud: ")
    body = digest_of_watches_body(both, PLAIN_TEXT).split("\n")
    assert body[0] == "Audius: @Audius followed 1, unfollowed 1:"  # platforms differ: named
    assert "SoundCloud: @scout followed 1:" in body
    assert platforms_named(["audius", "soundcloud", "myspace", "audius"]) == (
        "Audius, SoundCloud and Myspace"
    )


ALPHABET = [
    *"\\`*_~|<>[](){}#+-.!=&@:;\"' aZ9é\u200b\u2060\u202e\u00ad\n\t\x00\x7f",
    "@everyone",
    "@here",
    "<@",
    "<@&",
    "<!",
    "<#",
    "https://",
    "\u0301\u0301\u0301\u0301",
    "👨\u200d👩\u200d👧",
]


@pytest.mark.parametrize("seed", range(6))
def test_any_name_is_one_clean_line_that_reads_as_written_and_cannot_ping(seed: int) -> None:
    """Random names built of markup, mentions and invisible or control characters, through
    every renderer: one line, no invisible character but a defusing one right after a sigil,
    no ping where the service would ping, and, once the markup is resolved, the name as
    `clean` made it."""
    rng = random.Random(seed)
    for _ in range(150):
        name = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))
        plain = clean(name, NAME_MAX)
        for renderer in ALL:
            text = renderer.text(name)
            assert "\n" not in text and "\r" not in text
            assert not any(char in text for char in "\u2060\u202e\u00ad\x00\x7f")
            assert re.search(f"(?<![@!#]){ZWSP}", text) is None, (renderer.name, name)
            if renderer in DEFUSING:
                assert PING.search(text) is None, (renderer.name, name)
            assert shown(text, renderer) == plain.replace(ZWSP, ""), (renderer.name, name)
