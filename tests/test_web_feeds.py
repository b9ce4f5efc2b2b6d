"""The Atom feeds over real HTTP, against databases filled by real polls of the simulators:
valid Atom 1.0, one entry per event newest first with ids that never change, the account's
own feed by any name of the account, signals, and hostile profiles that stay inert text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from tests.web import feeds_of
from tests.world import AudiusWorld, SoundCloudWorld, World, tastemakers
from watcher.clock import iso
from watcher.sim.audius import AudiusSim
from watcher.store import EventRow
from watcher.web import atom
from watcher.wording import describe_envelope

NS = {"a": atom.ATOM}


def feed(client: httpx.Client, path: str = "/feed.atom") -> ET.Element:
    """GET an Atom feed; its root, checked to be a well-formed Atom 1.0 feed."""
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(answer.content)  # raises unless well-formed
    assert root.tag == f"{{{atom.ATOM}}}feed"
    for required in ("id", "title", "updated"):
        assert len(root.findall(f"a:{required}", NS)) == 1, required
    assert root.findtext("a:author/a:name", namespaces=NS) == "watcher"
    (self_link,) = root.findall("a:link[@rel='self']", NS)
    assert self_link.get("href") == str(client.base_url.join(path))
    datetime.fromisoformat(str(root.findtext("a:updated", namespaces=NS)))
    for entry in root.findall("a:entry", NS):
        for required in ("id", "title", "updated", "content"):
            assert len(entry.findall(f"a:{required}", NS)) == 1, required
        datetime.fromisoformat(str(entry.findtext("a:updated", namespaces=NS)))
    return root


def entries(root: ET.Element) -> list[dict[str, Any]]:
    return [
        {
            "id": entry.findtext("a:id", namespaces=NS),
            "title": entry.findtext("a:title", namespaces=NS),
            "updated": entry.findtext("a:updated", namespaces=NS),
            "category": entry.find("a:category", NS).get("term"),  # type: ignore[union-attr]
            "links": [link.get("href") for link in entry.findall("a:link", NS)],
        }
        for entry in root.findall("a:entry", NS)
    ]


def stored(world: World[Any]) -> list[EventRow]:
    store = world.store()
    try:
        return store.events.find()
    finally:
        store.close()


def test_the_feed_is_atom_with_one_entry_per_event_newest_first_and_ids_that_stay(
    either: AudiusWorld | SoundCloudWorld,
) -> None:
    world: World[Any] = either
    world.watch("curator")
    curator, artists = world.curator(5)
    world.poll()  # the baseline
    newcomers = world.sim.add_users(3, prefix="newbie")
    for newcomer in newcomers:
        world.sim.follow(curator, newcomer)
    world.sim.unfollow(curator, artists[0])
    world.poll()
    world.poll()  # confirms the unfollow

    with feeds_of(world) as client:
        first = client.get("/feed.atom").content
        root = feed(client)
        again = client.get("/feed.atom").content

    rows = stored(world)
    found = entries(root)
    assert first == again  # the same feed, ids and all, at every request
    assert [e["id"] for e in found] == [f"urn:watcher:event:{r.id}" for r in reversed(rows)]
    assert len({e["id"] for e in found}) == len(found) == 4
    assert [e["title"] for e in found] == [describe_envelope(r.envelope()) for r in reversed(rows)]
    assert [e["updated"] for e in found] == [r.timestamp for r in reversed(rows)]
    site = "https://audius.co" if world.platform == "audius" else "https://soundcloud.com"
    assert {(e["title"], e["category"], tuple(e["links"])) for e in found} == {
        (
            f"@curator followed @{world.handle(n)} (Newbie {i})",
            "following.added",
            (f"{site}/{world.handle(n)}",),
        )
        for i, n in enumerate(newcomers)
    } | {
        (
            f"@curator unfollowed @{world.handle(artists[0])} (Artist 0)",
            "following.removed",
            (f"{site}/{world.handle(artists[0])}",),
        )
    }
    assert root.findtext("a:updated", namespaces=NS) == rows[-1].timestamp


def test_an_empty_log_is_a_feed_without_entries_updated_at_the_read(audius: AudiusWorld) -> None:
    audius.watch("curator")
    audius.curator(3)
    audius.poll()

    with feeds_of(audius) as client:
        root = feed(client)

    assert root.findall("a:entry", NS) == []
    assert root.findtext("a:updated", namespaces=NS) == iso(audius.clock.now())


def test_limit_picks_the_newest_and_a_bad_limit_is_a_one_line_400(audius: AudiusWorld) -> None:
    audius.watch("curator")
    curator, _ = audius.curator(3)
    audius.poll()
    audius.sim.follow_many(curator, audius.sim.add_users(5, prefix="newbie"))
    audius.poll()

    with feeds_of(audius) as client:
        every = entries(feed(client))
        two = entries(feed(client, "/feed.atom?limit=2"))
        most = entries(feed(client, "/feed.atom?limit=1000"))
        refused = {
            value: client.get("/feed.atom", params={"limit": value})
            for value in ("0", "-1", "abc", "1001", "2.5", "\u0663", "1e3", "9" * 5000)
        }

    assert len(every) == 5 and most == every
    assert two == every[:2]
    for value, answer in refused.items():
        assert answer.status_code == 400, value
        assert answer.text == f"limit must be a whole number from 1 to 1000 (got {value!r})\n"


def test_an_accounts_feed_has_its_events_by_any_name_of_it_and_404_for_others(
    audius: AudiusWorld,
) -> None:
    sim = audius.sim
    audius.watch("curator")
    audius.watch("curator", relation="followers")
    audius.watch("scout")
    curator, artists = audius.curator(3)
    scout, fan = sim.add_user("scout", "Scout"), sim.add_user("fan", "Fan")
    sim.follow(scout, artists[0])
    audius.poll_all()
    sim.follow(curator, sim.add_user("newbie", "Newbie"))
    sim.follow(fan, curator)
    sim.follow(scout, artists[1])
    audius.poll_all()
    curator_id = sim.user(curator).id

    with feeds_of(audius) as client:
        names = (curator_id, "curator", "@Curator", "https://audius.co/curator")
        feeds = [
            feed(client, f"/accounts/audius/{quote(name, safe='')}/feed.atom") for name in names
        ]
        missing = [
            client.get(path)
            for path in (
                "/accounts/audius/nobody/feed.atom",
                f"/accounts/soundcloud/{curator_id}/feed.atom",
                "/accounts/myspace/curator/feed.atom",
            )
        ]

    titles = [e["title"] for e in entries(feeds[0])]
    assert titles == ["@fan started following @curator", "@curator followed @newbie"]
    assert all(entries(f) == entries(feeds[0]) for f in feeds)
    assert feeds[0].findtext("a:title", namespaces=NS) == "watcher: @curator on audius"
    assert feeds[0].findtext("a:id", namespaces=NS) == f"urn:watcher:feed:audius:{curator_id}"
    (page,) = feeds[0].findall("a:link[@rel='alternate']", NS)
    assert str(page.get("href")).endswith(f"/accounts/audius/{curator_id}")
    assert [m.status_code for m in missing] == [404, 404, 404]
    assert missing[0].text.startswith("no watch covers 'nobody' (watched: ")


def test_a_signal_is_an_entry_worded_as_once_words_it(audius: AudiusWorld) -> None:
    audius.signal("scouting", min_accounts=2)
    a, b = tastemakers(audius, 2)
    (newcomer,) = audius.sim.add_users(1, prefix="newcomer")
    audius.sim.follow(a, newcomer)
    audius.sim.follow(b, newcomer)
    audius.poll_all()

    with feeds_of(audius) as client:
        found = entries(feed(client))

    signal = found[0]
    assert signal["title"] == "scouting: @taste1 and @taste2 followed @newcomer_0 (Newcomer 0)"
    assert signal["category"] == "signal.trending"
    assert signal["links"] == ["https://audius.co/newcomer_0"]
    assert [e["category"] for e in found[1:]] == ["following.added"] * 2


HOSTILE_NAME = '<script>alert(1)</script>]]>"onmouseover=alert(1) x\x00\x08\x1b[2J\u202eevil'
# What Audius allows in a handle: anything but whitespace, '/', '?' and '#'.
HOSTILE_HANDLE = '<img"onmouseover=alert(1)>]]>&amp;\x00\x1b\u202e'
# Characters XML 1.0 forbids, and those that reorder or break a line.
UNFIT = {"\x00", "\x08", "\x1b", "\u202e"}


def test_a_hostile_profile_is_escaped_inert_text_and_never_a_javascript_link(
    either: AudiusWorld | SoundCloudWorld,
) -> None:
    """On Audius the handles and names are hostile (the watched account's too); on
    SoundCloud, whose permalinks are tame, the names and the profile link."""
    world: World[Any] = either
    sim = world.sim
    if isinstance(sim, AudiusSim):
        curator = sim.add_user(HOSTILE_HANDLE + "c", HOSTILE_NAME)
        hostile = sim.add_user(HOSTILE_HANDLE, HOSTILE_NAME)
        account = sim.user(curator).id
    else:
        curator = sim.add_user("curator", HOSTILE_NAME)
        hostile = sim.add_user("hostile", HOSTILE_NAME)
        sim.set_permalink_url(hostile, "javascript:alert(document.cookie)//https://x.example/")
        account = "curator"
    sim.follow_many(curator, sim.add_users(2, prefix="artist"))
    world.watch(account)
    world.poll()
    sim.follow(curator, hostile)
    world.poll()

    paths = ("/feed.atom", f"/accounts/{world.platform}/{quote(account, safe='')}/feed.atom")
    with feeds_of(world) as client:
        raw = [client.get(path).content for path in paths]
        roots = [feed(client, path) for path in paths]

    for body in raw:
        assert b"<script" not in body and b"<img" not in body and b"&lt;script&gt;" in body
        assert b"javascript:" not in body.lower()
    for root in roots:
        ((title, links),) = [(e["title"], e["links"]) for e in entries(root)]
        assert '<script>alert(1)</script>]]>"onmouseover=alert(1)' in title  # inert text
        assert not set(title) & UNFIT and "\ufffd" in title
        if world.platform == "audius":
            assert [urlsplit(link).netloc for link in links] == ["audius.co"]
            assert "<" not in links[0] and '"' not in links[0]
        else:
            assert links == []  # no link at all rather than a javascript: one
        assert not set(str(root.findtext("a:title", namespaces=NS))) & UNFIT


def test_the_self_link_of_a_hostile_host_header_stays_an_escaped_attribute(
    audius: AudiusWorld,
) -> None:
    audius.watch("curator")
    audius.curator(2)
    audius.poll()

    with feeds_of(audius) as client:
        answers = [
            client.get("/feed.atom", headers={"Host": host})
            for host in ('evil"><script>x</script>', "x:99999999")
        ]

    links = []
    for answer in answers:
        assert answer.status_code == 200 and b"<script" not in answer.content
        links.append(ET.fromstring(answer.content).find("a:link[@rel='self']", NS))
    assert [link.get("href") for link in links if link is not None] == [
        'http://evil"><script>x</script>/feed.atom',  # an attribute's text, not markup
        "/feed.atom",  # no URL can be made of that host: the path alone
    ]


def test_every_character_xml_forbids_is_replaced_and_the_rest_kept() -> None:
    everything = "".join(map(chr, range(0x110000)))
    entry = atom.Entry("urn:x", everything, "2026-11-22T12:00:00Z", "t", [everything], None)
    document = atom.document(
        atom.Feed("urn:f", everything, "2026-11-22T12:00:00Z", "http://127.0.0.1/f", None, [entry])
    )

    root = ET.fromstring(document)
    title = str(root.findtext("a:entry/a:title", namespaces=NS))
    assert len(title) == len(everything)
    assert {c for c, kept in zip(everything, title, strict=True) if c != kept} == set(
        "".join(
            map(
                chr,
                [
                    *range(0x20),
                    *range(0x7F, 0xA0),
                    0x61C,
                    0x200E,
                    0x200F,
                    0x2028,
                    0x2029,
                    *range(0x202A, 0x202F),
                    *range(0x2066, 0x206A),
                    *range(0xD800, 0xE000),
                    0xFFFE,
                    0xFFFF,
                ],
            )
        )
    )
