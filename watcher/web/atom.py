"""Atom 1.0 documents (RFC 4287), built with ElementTree so that every string is escaped.

Strangers' text (names, handles, profile URLs) reaches the XML only through `xml_text`:
characters XML 1.0 forbids (most C0 controls, lone surrogates, U+FFFE/U+FFFF) would make the
document unreadable to every feed reader, so they are replaced, with the other controls, the
line separators and the bidirectional controls that could make a title read backwards, by
U+FFFD (visible: the reader sees that something was there). A title stays one line.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from watcher import __version__

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml"

_NOT_IN_A_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufffe\uffff]"
)


def xml_text(text: str) -> str:
    """`text` as one line of characters XML 1.0 allows and no reader reorders."""
    return _NOT_IN_A_LINE.sub("\ufffd", text)


@dataclass(frozen=True, slots=True)
class Entry:
    id: str  # a URI, the same at every request
    title: str
    updated: str  # RFC 3339
    category: str
    content: Sequence[str]  # lines of plain text
    link: str | None = None  # an http(s) URL already judged safe, or none


@dataclass(frozen=True, slots=True)
class Feed:
    id: str  # a URI, the same at every request
    title: str
    updated: str  # RFC 3339
    self_url: str
    alternate_url: str | None
    entries: Sequence[Entry]


def document(feed: Feed) -> bytes:
    """The feed as a UTF-8 Atom document."""
    # The namespace as a plain attribute: ElementTree's `default_namespace` refuses the
    # unqualified attribute names (`rel`, `href`) Atom uses.
    root = ET.Element("feed", {"xmlns": ATOM})
    _add(root, "id", feed.id)
    _add(root, "title", feed.title)
    _add(root, "updated", feed.updated)
    _add(root, "link", rel="self", type=CONTENT_TYPE, href=feed.self_url)
    if feed.alternate_url is not None:
        _add(root, "link", rel="alternate", type="text/html", href=feed.alternate_url)
    author = _add(root, "author")
    _add(author, "name", "watcher")
    _add(root, "generator", "watcher", version=__version__)
    for entry in feed.entries:
        _entry(root, entry)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def _entry(root: ET.Element, entry: Entry) -> None:
    element = _add(root, "entry")
    _add(element, "id", entry.id)
    _add(element, "title", entry.title, type="text")
    _add(element, "updated", entry.updated)
    _add(element, "published", entry.updated)
    _add(element, "category", term=entry.category)
    if entry.link is not None:
        _add(element, "link", rel="alternate", type="text/html", href=entry.link)
    # Text content, always: an entry without an alternate link must have content (4.1.2).
    content = _add(element, "content", type="text")
    content.text = "\n".join(xml_text(line) for line in entry.content)


def _add(parent: ET.Element, name: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(
        parent, name, {key: xml_text(value) for key, value in attributes.items()}
    )
    if text is not None:
        element.text = xml_text(text)
    return element
