"""How each chat service is written to: one renderer per service, picked by the Apprise URL's
schema.

Names and handles come from whoever created the account. In a chat message they could ping a
whole server (`@everyone`, `<@&role>`, `<!channel>`), smuggle a link under other words
(`[login](https://evil)`), break the layout (newlines, `**`) or reverse the text that follows
(bidi overrides). What is dangerous depends on the service, so a renderer per service says how
its messages are written:

    service   markup              the body Apprise is told it gets   mentions defused
    discord   Discord Markdown    text (Discord reads its content    @everyone @here <@id> <@&id>
                                  as Markdown; Apprise passes it on)
    slack     plain text          text: Apprise's Slack plugin       none can form: `<` is escaped
                                  escapes `&` `<` `>`, all that      and plain `@here` is no ping
                                  mrkdwn has (no backslash escapes)
    tgram     Telegram HTML       html                               none (Telegram has no mass
                                                                     mention)
    mailto    plain text          text                               none
    json      plain text          text                               none (a program reads it)

Every other service gets the richest format it takes as is (Markdown, HTML, text) in the
markup of that format, with the mass mentions of the common chat services defused, since who
reads it is unknown. A URL's `?format=` that changes what a service reads picks the renderer
of that format instead (`json://...?format=markdown`: Markdown), and Discord's embeds
(`discord://...?format=markdown`) get their own: Apprise reads every `@word` in an embed as a
ping to request, so there each `@` is defused.

Defusing is the one place a zero-width space goes: right after the sigil (`@`, `<@`, `<!`) of
a mention that would ping. Nothing else is invisible: ordinary handles stay copyable as they
are. Every platform string is first `clean`ed (one bounded line, no control, bidi or
invisible characters), then defused, then escaped; the only links are the profile URLs
message.py rebuilds, so a link's target is never text someone else wrote.

Messages are built so that no line starts with a platform string (a name opening a Discord
line could start a heading or a list); a line starts with a handle (`@...`), a marker or our
own words.

This module is pure text: choosing a renderer for a URL needs Apprise, and is apprise_sink's.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, cast, get_args

Format = Literal["markdown", "html", "text"]
FORMATS: tuple[str, ...] = get_args(Format)

ZWSP = "\u200b"
NAME_MAX = 80
HANDLE_MAX = 60

# -- one platform string, made plain ------------------------------------------------------------

# Bidi embeddings, overrides, isolates and marks, the BOM, and characters that show nothing
# (zero-width space, word joiner and invisible operators, soft hyphen, Mongolian vowel
# separator): invisible, able to make the rest of a line read backwards or to disguise
# `@everyone`. Zero-width (non-)joiners stay: scripts and emoji need them.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
# Control characters and Unicode line/paragraph separators: a name must stay on its line.
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]+")
# Stacks of combining marks ("zalgo") spill over the lines around them; three per letter is
# plenty for any real script.
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_MARK_PILE = re.compile(f"([{_MARKS}]{{3}})[{_MARKS}]+")


def clean(value: str, limit: int) -> str:
    """One line of at most `limit` characters without control, bidi, invisible characters or
    piled-up marks."""
    text = _MARK_PILE.sub(r"\1", _INVISIBLE.sub("", value))
    text = " ".join(_BREAKS.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- mentions -----------------------------------------------------------------------------------

Defuse = Callable[[str], str]


def _keep(text: str) -> str:
    return text


# `@everyone` and `@here` whatever follows them (Discord pings for them inside a longer word
# too), and the `<@` of user and role mentions (`<@123>`, `<@!123>`, `<@&123>`).
_DISCORD_MENTION = re.compile(r"(<@|@(?=everyone|here))", re.IGNORECASE)


def _discord(text: str) -> str:
    return _DISCORD_MENTION.sub(r"\1" + ZWSP, text)


def _every_at(text: str) -> str:
    """Every `@`: Apprise's Discord embeds read each `@word` as a ping to request."""
    return text.replace("@", "@" + ZWSP)


# Mass mentions on Discord, Slack, Mattermost, Rocket.Chat, Matrix and the like: `@everyone`,
# `@here`, `@channel` whatever follows; `@all`, `@room`, `@group` unless a letter or digit
# follows (`@allison` is someone). And the angle-bracket mentions of Slack (`<!channel>`,
# `<@U123>`) and Discord (`<@123>`, `<#1>`).
_CHAT_MENTION = re.compile(
    r"(<[@!#]|@(?=everyone|here|channel|(?:all|room|group)(?![^\W_])))", re.IGNORECASE
)


def _chat(text: str) -> str:
    """A zero-width space right after the sigil: `@` U+200B `everyone`, `<!` U+200B
    `channel>`."""
    return _CHAT_MENTION.sub(r"\1" + ZWSP, text)


# -- markups ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Markup:
    """How text, links, headings and list lines are written in one markup."""

    escape: Callable[[str], str]  # literal text as this markup shows it
    link: Callable[[str, str], str]  # (label already in this markup, URL) -> a link
    heading: Callable[[str], str]
    added: str  # the marker of a line in a list of follows (or followers gained)...
    removed: str  # ...and of unfollows (or followers lost)
    line_end: str = ""  # closes every line ("<br>" for HTML a service shows as it is)
    # Whether links hide their URL behind a label; plain text shows it, so a line with many
    # links (a signal's accounts) links only where it matters.
    labelled_links: bool = True


def _markdown_link(label: str, url: str) -> str:
    return f"[{label}]({url})"


def _html_link(label: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{label}</a>'


def _text_link(label: str, url: str) -> str:
    return f"{label} {url}"


# Discord: emphasis, strike, spoiler, code, masked links, and the angle brackets of mentions
# and embed-less links. Line-start syntax (`#`, `-`, `>`) never arises: no line starts with a
# platform string.
_DISCORD_SPECIAL = re.compile(r"([\\*_~|`\[\]<>])")
# Everything CommonMark gives a meaning to, for services whose Markdown dialect is unknown.
_COMMONMARK_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~=&])")

DISCORD_MARKDOWN = Markup(
    escape=lambda text: _DISCORD_SPECIAL.sub(r"\\\1", text),
    link=_markdown_link,
    heading=lambda text: f"**{text}**",
    added="-",
    removed="-",
)
COMMONMARK = Markup(
    escape=lambda text: _COMMONMARK_SPECIAL.sub(r"\\\1", text),
    link=_markdown_link,
    heading=lambda text: f"**{text}**",
    added="-",
    removed="-",
)
# Telegram's HTML: the few tags it knows, `&`, `<`, `>` escaped, and lines that end in a
# newline (it has no `<br>`).
TELEGRAM_HTML = Markup(
    escape=lambda text: html.escape(text, quote=False),
    link=_html_link,
    heading=lambda text: f"<b>{text}</b>",
    added="\u2022",  # a bullet
    removed="\u2013",  # an en dash
)
HTML = Markup(
    escape=lambda text: html.escape(text, quote=True),
    link=_html_link,
    heading=lambda text: f"<b>{text}</b>",
    added="&bull;",
    removed="&ndash;",
    line_end="<br>",
)
PLAIN = Markup(
    escape=_keep,
    link=_text_link,
    heading=lambda text: f"{text}:",
    added="+",
    removed="-",
    labelled_links=False,
)


# -- renderers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Renderer:
    """A service's way of writing: its markup, its mentions, the format Apprise is told."""

    name: str
    body_format: Format  # what Apprise is told the body is, so that it sends it as built
    markup: Markup
    defuse: Defuse
    # How titles are written: None, as the body is (the service shows them in its markup);
    # else this renderer's way (a title the service shows, or escapes, as plain text).
    titles: Renderer | None = None

    def text(self, value: str, limit: int = NAME_MAX) -> str:
        """A platform-supplied (or configured) string, ready to place in a message."""
        return self.markup.escape(self.defuse(clean(value, limit)))

    def handle(self, handle: str) -> str:
        """`@handle`, whether or not the stored handle carries its `@`."""
        return self.markup.escape(self.defuse("@" + clean(handle.strip().lstrip("@"), HANDLE_MAX)))

    def link(self, label: str, url: str | None) -> str:
        """`label` (already rendered) linked to `url`; just the label without a URL."""
        return label if url is None else self.markup.link(label, url)

    def heading(self, text: str) -> str:
        return self.markup.heading(text)

    def item(self, line: str, added: bool) -> str:
        """One line of a list of changes."""
        return f"{self.markup.added if added else self.markup.removed} {line}"

    def lines(self, lines: list[str]) -> str:
        """Lines joined as this markup breaks them (an empty line stays empty)."""
        end = self.markup.line_end
        return "\n".join(f"{line}{end}" if line and end else line for line in lines)

    @property
    def title(self) -> Renderer:
        """The renderer of this renderer's titles."""
        return self.titles or self


PLAIN_TEXT = Renderer("text", "text", PLAIN, _keep)

DISCORD = Renderer("discord", "text", DISCORD_MARKDOWN, _discord)
DISCORD_EMBED = Renderer("discord embed", "markdown", DISCORD_MARKDOWN, _every_at, DISCORD)
# Apprise escapes a Slack title and the plain text body itself, as mrkdwn requires.
SLACK = Renderer("slack", "text", PLAIN, _keep)
TELEGRAM = Renderer("telegram", "html", TELEGRAM_HTML, _keep)
EMAIL = Renderer("email", "text", PLAIN, _keep)
JSON = Renderer("json", "text", PLAIN, _keep)

# The renderer of each service that has one, by the schema of its Apprise URL.
SERVICES: dict[str, Renderer] = {
    "discord": DISCORD,
    "slack": SLACK,
    "tgram": TELEGRAM,
    "mailto": EMAIL,
    "mailtos": EMAIL,
    "json": JSON,
    "jsons": JSON,
}
# A service's renderer when its URL's `?format=` makes it read another format.
VARIANTS: dict[tuple[str, str], Renderer] = {("discord", "markdown"): DISCORD_EMBED}

_CHAT_TEXT = Renderer("text", "text", PLAIN, _chat)
# For services without a renderer of their own, by the format they take as is.
GENERIC: dict[str, Renderer] = {
    "markdown": Renderer("markdown", "markdown", COMMONMARK, _chat),
    "html": Renderer("html", "html", HTML, _chat),
    "text": _CHAT_TEXT,
}


def check_format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise ValueError(f"unknown message format {fmt!r}; use one of {', '.join(FORMATS)}")
    return cast(Format, fmt)


def generic(fmt: str, *, blended_title: bool = True) -> Renderer:
    """The renderer of a service without one of its own that takes `fmt` as is: its title in
    the same markup when the service puts the title into the body, else as plain text."""
    renderer = GENERIC[check_format(fmt)]
    return renderer if blended_title or fmt == "text" else replace(renderer, titles=_CHAT_TEXT)


def for_service(
    schemas: Sequence[str], takes_as_is: Callable[[str], bool], richest: str, *, blended_title: bool
) -> Renderer:
    """The renderer for a service known by its URL `schemas`: its own when it takes that
    renderer's format as is, else the variant its URL's format asks for, else a generic one of
    the `richest` format it takes as is (`takes_as_is(fmt)`: the service sends a body of `fmt`
    without converting it)."""
    schema = next((schema for schema in schemas if schema in SERVICES), None)
    if schema is not None:
        if takes_as_is(SERVICES[schema].body_format):
            return SERVICES[schema]
        variant = VARIANTS.get((schema, richest))
        if variant is not None:
            return variant
    return generic(richest, blended_title=blended_title)
