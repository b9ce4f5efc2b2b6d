"""Each service's exact message, as Apprise's own Discord, Slack, Telegram and email plugins
send it (tests/services.py), for accounts whose names and handles are hostile.

The accounts: `everyone` named `*_~|<>&@everyone` (a handle and a name that would ping a
Discord server), and `a_*~|<b>&")]` (a handle full of markup). Each scenario runs once, through
real polls of the simulator and the real dispatcher, to one notifier holding all four services'
URLs; the tests then read what each service got.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tests.commands import run_watcher
from tests.services import SERVICES, Services, Shown, standing_in
from tests.world import AudiusWorld, World, tastemakers
from watcher.clock import FakeClock
from watcher.events import Event
from watcher.platforms.base import Profile
from watcher.sim.audius import AudiusSim
from watcher.sinks.apprise_sink import renderer_for, send_apprise
from watcher.sinks.message import digest_body, digest_title
from watcher.sinks.renderers import ZWSP

HOSTILE_NAME = "*_~|<>&@everyone"
HOSTILE_HANDLE = 'a_*~|<b>&")]'
HOSTILE_URL = "https://audius.co/a_%2A~%7C%3Cb%3E%26%22%29%5D"  # its profile, percent-encoded
# The handle as each service's markup writes it (Slack's and Telegram's are alike: Apprise
# escapes Slack's `&`, `<` and `>` as Telegram's HTML does).
AS_DISCORD = '@a\\_\\*\\~\\|\\<b\\>&")\\]'
AS_HTML = '@a_*~|&lt;b&gt;&amp;")]'
AS_TEXT = '@a_*~|<b>&")]'
Z = ZWSP  # defuses a mention: only where it would ping
NOTIFIER = "chat_room"
SIGNAL = "scouting <A&R>"


@dataclass
class Delivered:
    """What each service got in each scenario, and the day the signal's accounts followed."""

    messages: dict[str, dict[str, list[Shown]]] = field(default_factory=dict)
    signal_day: str = ""


def account(sim: AudiusSim, handle: str, name: str, base_followers: int = 0) -> str:
    """The simulator's account `handle`, made the first time it is asked for."""
    try:
        return sim.id_of(handle)
    except KeyError:
        return sim.add_user(handle, name, base_followers=base_followers)


def changes(outbox: AudiusWorld, watch: str = "curator", index: int = 0) -> None:
    """`watch` (watch `index` of the config) unfollows `<watch>_gone`, then follows `everyone`
    and the markup handle: three events in one poll."""
    sim = outbox.sim
    watched = account(sim, watch, "The Curator")
    gone = account(sim, f"{watch}_gone", "Gone")
    sim.follow(watched, gone)
    outbox.poll(index)
    sim.unfollow(watched, gone)
    assert outbox.poll(index).events == []  # missing once: pending
    sim.follow(watched, account(sim, "everyone", HOSTILE_NAME))
    sim.follow(watched, account(sim, HOSTILE_HANDLE, "Plain Name"))
    assert len(outbox.poll(index).events) == 3


def received(services: Services, run: Callable[[], object]) -> dict[str, list[Shown]]:
    """What each service got while `run()` ran."""
    before = {service: len(services.shown(service)) for service in SERVICES}
    run()
    return {service: services.shown(service)[before[service] :] for service in SERVICES}


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivered]:
    """Every scenario, run once, to one notifier of all four services."""
    with contextlib.ExitStack() as stack:
        monkeypatch = stack.enter_context(pytest.MonkeyPatch.context())
        services = stack.enter_context(standing_in(monkeypatch))

        def scenario(name: str, **keys: object) -> AudiusWorld:
            sim = AudiusSim(seed=11, replicas=3)
            base_url = stack.enter_context(sim.serve())
            made = World.for_deliveries(sim, base_url, tmp_path_factory.mktemp(name) / "w.db")
            made.settings = {"requests_per_second": 10_000}  # unthrottled: quick polls
            made.apprise(NOTIFIER, *(services.url(service) for service in SERVICES), **keys)
            return made

        runs = Delivered()
        digest = scenario("digest")
        digest.watch("curator", NOTIFIER)
        changes(digest)
        runs.messages["digest"] = received(services, digest.dispatch)

        events = scenario("events", digest=False)
        events.watch("curator", NOTIFIER)
        changes(events)
        runs.messages["events"] = received(services, events.dispatch)

        signal = scenario("signal")
        signal.signal(SIGNAL, NOTIFIER, min_accounts=2)
        users = tastemakers(signal, 2)
        target = account(signal.sim, HOSTILE_HANDLE, HOSTILE_NAME, base_followers=40)
        for user in users:
            signal.sim.follow(user, target)
        runs.signal_day = signal.clock.now().strftime("%a")
        signal.poll_all()
        runs.messages["signal"] = received(services, signal.dispatch)

        held = scenario("held")
        now = held.clock.now()
        held.notifiers[NOTIFIER]["schedule"] = f"daily {now + timedelta(hours=1):%H:%M}"
        held.watch("curator", NOTIFIER)
        held.watch("scout", NOTIFIER)
        changes(held)
        changes(held, "scout", 1)
        assert held.dispatch().outcomes == []  # held for the digest
        held.clock = FakeClock(now + timedelta(hours=1, minutes=1))
        runs.messages["held"] = received(services, held.dispatch)

        alert = scenario("alert")
        alert.watch("night_owl", NOTIFIER)
        owl = account(alert.sim, "night_owl", "Night Owl")
        alert.poll()
        alert.sim.deactivate(owl)
        for _ in range(3):
            assert not alert.poll().ok
        runs.messages["alert"] = received(services, alert.dispatch)

        config = alert.write_config(tmp_path_factory.mktemp("cli") / "watcher.toml")

        def notify_test() -> None:
            result = run_watcher(config, "notify-test", NOTIFIER)
            assert result.returncode == 0, result.stderr

        runs.messages["notify-test"] = received(services, notify_test)
        yield runs


def one(delivered: Delivered, scenario: str, service: str) -> Shown:
    [message] = delivered.messages[scenario][service]
    return message


# -- a poll's digest ----------------------------------------------------------------------------

DIGEST = {
    "discord": Shown(
        "Audius: @curator followed 2, unfollowed 1",
        "**Followed (2)**\n"
        f"- @curator followed [{AS_DISCORD}]({HOSTILE_URL}) (Plain Name)\n"
        f"- @curator followed [@{Z}everyone](https://audius.co/everyone)"
        f" (\\*\\_\\~\\|\\<\\>&@{Z}everyone)\n"
        "\n"
        "**Unfollowed (1)**\n"
        "- @curator unfollowed [@curator\\_gone](https://audius.co/curator_gone) (Gone)",
    ),
    "slack": Shown(
        "Audius: @curator followed 2, unfollowed 1",
        "Followed (2):\n"
        f"+ @curator followed {AS_HTML} (Plain Name) {HOSTILE_URL}\n"
        "+ @curator followed @everyone (*_~|&lt;&gt;&amp;@everyone) https://audius.co/everyone\n"
        "\n"
        "Unfollowed (1):\n"
        "- @curator unfollowed @curator_gone (Gone) https://audius.co/curator_gone",
    ),
    "telegram": Shown(
        "<b>Audius: @curator followed 2, unfollowed 1</b>",
        "<b>Followed (2)</b>\n"
        f'\u2022 @curator followed <a href="{HOSTILE_URL}">{AS_HTML}</a> (Plain Name)\n'
        '\u2022 @curator followed <a href="https://audius.co/everyone">@everyone</a>'
        " (*_~|&lt;&gt;&amp;@everyone)\n"
        "\n"
        "<b>Unfollowed (1)</b>\n"
        '\u2013 @curator unfollowed <a href="https://audius.co/curator_gone">@curator_gone</a>'
        " (Gone)",
    ),
    "email": Shown(
        "Audius: @curator followed 2, unfollowed 1",
        "Followed (2):\n"
        f"+ @curator followed {AS_TEXT} (Plain Name) {HOSTILE_URL}\n"
        "+ @curator followed @everyone (*_~|<>&@everyone) https://audius.co/everyone\n"
        "\n"
        "Unfollowed (1):\n"
        "- @curator unfollowed @curator_gone (Gone) https://audius.co/curator_gone",
    ),
}


@pytest.mark.parametrize("service", SERVICES)
def test_a_polls_digest_reads_exactly_so_on_each_service(
    delivered: Delivered, service: str
) -> None:
    assert one(delivered, "digest", service) == DIGEST[service]


# -- one event per message ----------------------------------------------------------------------

EVENTS = {
    "discord": [
        Shown(
            f"Audius: @curator followed {AS_DISCORD} (Plain Name)",
            f"@curator followed [{AS_DISCORD}]({HOSTILE_URL}) (Plain Name)",
        ),
        Shown(
            f"Audius: @curator followed @{Z}everyone (\\*\\_\\~\\|\\<\\>&@{Z}everyone)",
            f"@curator followed [@{Z}everyone](https://audius.co/everyone)"
            f" (\\*\\_\\~\\|\\<\\>&@{Z}everyone)",
        ),
        Shown(
            "Audius: @curator unfollowed @curator\\_gone (Gone)",
            "@curator unfollowed [@curator\\_gone](https://audius.co/curator_gone) (Gone)",
        ),
    ],
    "slack": [
        Shown(
            f"Audius: @curator followed {AS_HTML} (Plain Name)",
            f"@curator followed {AS_HTML} (Plain Name) {HOSTILE_URL}",
        ),
        Shown(
            "Audius: @curator followed @everyone (*_~|&lt;&gt;&amp;@everyone)",
            "@curator followed @everyone (*_~|&lt;&gt;&amp;@everyone) https://audius.co/everyone",
        ),
        Shown(
            "Audius: @curator unfollowed @curator_gone (Gone)",
            "@curator unfollowed @curator_gone (Gone) https://audius.co/curator_gone",
        ),
    ],
    "telegram": [
        Shown(
            f"<b>Audius: @curator followed {AS_HTML} (Plain Name)</b>",
            f'@curator followed <a href="{HOSTILE_URL}">{AS_HTML}</a> (Plain Name)',
        ),
        Shown(
            "<b>Audius: @curator followed @everyone (*_~|&lt;&gt;&amp;@everyone)</b>",
            '@curator followed <a href="https://audius.co/everyone">@everyone</a>'
            " (*_~|&lt;&gt;&amp;@everyone)",
        ),
        Shown(
            "<b>Audius: @curator unfollowed @curator_gone (Gone)</b>",
            '@curator unfollowed <a href="https://audius.co/curator_gone">@curator_gone</a> (Gone)',
        ),
    ],
    "email": [
        Shown(
            f"Audius: @curator followed {AS_TEXT} (Plain Name)",
            f"@curator followed {AS_TEXT} (Plain Name) {HOSTILE_URL}",
        ),
        Shown(
            "Audius: @curator followed @everyone (*_~|<>&@everyone)",
            "@curator followed @everyone (*_~|<>&@everyone) https://audius.co/everyone",
        ),
        Shown(
            "Audius: @curator unfollowed @curator_gone (Gone)",
            "@curator unfollowed @curator_gone (Gone) https://audius.co/curator_gone",
        ),
    ],
}


@pytest.mark.parametrize("service", SERVICES)
def test_an_event_of_its_own_reads_exactly_so_on_each_service(
    delivered: Delivered, service: str
) -> None:
    assert delivered.messages["events"][service] == EVENTS[service]


# -- a signal -----------------------------------------------------------------------------------


def signal_expected(service: str, day: str) -> Shown:
    accounts = {
        "discord": f"[@taste1](https://audius.co/taste1) ({day}),"
        f" [@taste2](https://audius.co/taste2) ({day})",
        "telegram": f'<a href="https://audius.co/taste1">@taste1</a> ({day}),'
        f' <a href="https://audius.co/taste2">@taste2</a> ({day})',
    }.get(service, f"@taste1 ({day}), @taste2 ({day})")
    return {
        "discord": Shown(
            f"Audius: 2 watched accounts followed {AS_DISCORD} this week",
            f"2 watched accounts followed [{AS_DISCORD}]({HOSTILE_URL}) this week:"
            f" {accounts}\n"
            f"{AS_DISCORD} (\\*\\_\\~\\|\\<\\>&@{Z}everyone): 42 followers\n"
            "Signal: scouting \\<A&R\\>",
        ),
        "slack": Shown(
            f"Audius: 2 watched accounts followed {AS_HTML} this week",
            f"2 watched accounts followed {AS_HTML} this week: {accounts}\n"
            f"{AS_HTML} (*_~|&lt;&gt;&amp;@everyone): 42 followers {HOSTILE_URL}\n"
            "Signal: scouting &lt;A&amp;R&gt;",
        ),
        "telegram": Shown(
            f"<b>Audius: 2 watched accounts followed {AS_HTML} this week</b>",
            f'2 watched accounts followed <a href="{HOSTILE_URL}">{AS_HTML}</a>'
            f" this week: {accounts}\n"
            f"{AS_HTML} (*_~|&lt;&gt;&amp;@everyone): 42 followers\n"
            "Signal: scouting &lt;A&amp;R&gt;",
        ),
        "email": Shown(
            f"Audius: 2 watched accounts followed {AS_TEXT} this week",
            f"2 watched accounts followed {AS_TEXT} this week: {accounts}\n"
            f"{AS_TEXT} (*_~|<>&@everyone): 42 followers {HOSTILE_URL}\n"
            "Signal: scouting <A&R>",
        ),
    }[service]


@pytest.mark.parametrize("service", SERVICES)
def test_a_signal_reads_exactly_so_on_each_service(delivered: Delivered, service: str) -> None:
    assert one(delivered, "signal", service) == signal_expected(service, delivered.signal_day)


# -- a digest of several watches, an alert, a test message --------------------------------------

HEADINGS = {  # one watch's heading inside a digest of several
    "discord": "**@{} followed 2, unfollowed 1**",
    "slack": "@{} followed 2, unfollowed 1:",
    "telegram": "<b>@{} followed 2, unfollowed 1</b>",
    "email": "@{} followed 2, unfollowed 1:",
}


@pytest.mark.parametrize("service", SERVICES)
def test_a_scheduled_digest_of_several_watches_is_written_as_a_polls_digest(
    delivered: Delivered, service: str
) -> None:
    message = one(delivered, "held", service)

    title = "Audius: 6 changes on 2 watches"
    assert message.title == (f"<b>{title}</b>" if service == "telegram" else title)
    curator, scout = message.body.split("\n\n" + HEADINGS[service].format("scout") + "\n")
    assert curator == HEADINGS[service].format("curator") + "\n" + DIGEST[service].body
    # The scout's lines are the curator's, in the order the scout's poll listed its follows.
    as_scout = DIGEST[service].body.replace("curator", "scout")
    assert sorted(scout.splitlines()) == sorted(as_scout.splitlines())


ALERTS = {
    "discord": Shown(
        "Audius: watch failing for @night\\_owl following (3 polls in a row)",
        "The last 3 polls of @night\\_owl following on Audius failed.\n"
        "Last error: account 'night\\_owl' is deactivated\n"
        "watcher keeps polling and sends one message when it works again.",
    ),
    "telegram": Shown(
        "<b>Audius: watch failing for @night_owl following (3 polls in a row)</b>",
        "The last 3 polls of @night_owl following on Audius failed.\n"
        "Last error: account 'night_owl' is deactivated\n"
        "watcher keeps polling and sends one message when it works again.",
    ),
}
PLAIN_ALERT = Shown(
    "Audius: watch failing for @night_owl following (3 polls in a row)",
    ALERTS["telegram"].body,
)


@pytest.mark.parametrize("service", SERVICES)
def test_a_failure_alert_is_written_for_each_service(delivered: Delivered, service: str) -> None:
    assert one(delivered, "alert", service) == ALERTS.get(service, PLAIN_ALERT)


TESTS = {
    "discord": Shown(
        "watcher test message (chat\\_room)",
        "Notifier chat\\_room works: watcher can reach this service.\n"
        "Follow and unfollow messages will arrive here.",
    ),
    "telegram": Shown(
        "<b>watcher test message (chat_room)</b>",
        "Notifier chat_room works: watcher can reach this service.\n"
        "Follow and unfollow messages will arrive here.",
    ),
}


@pytest.mark.parametrize("service", SERVICES)
def test_notify_test_is_written_for_each_service(delivered: Delivered, service: str) -> None:
    plain = Shown("watcher test message (chat_room)", TESTS["telegram"].body)

    assert one(delivered, "notify-test", service) == TESTS.get(service, plain)


# -- Discord's embeds ---------------------------------------------------------------------------


def follow_of(handle: str, name: str) -> Event:
    watched = Profile("1", "curator", "The Curator", "https://audius.co/curator")
    target = Profile(handle, handle, name, f"https://audius.co/{handle}")
    return Event.create(
        platform="audius",
        relation="following",
        added=True,
        account=watched,
        target=target,
        moment=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )


def test_discord_is_never_asked_to_ping_not_even_in_embeds(services: Services) -> None:
    """Apprise reads every `@word` of an embed (`?format=markdown`) as a ping to request from
    Discord: there every `@` is defused; in a plain message only real mentions are."""
    events = [follow_of("everyone", HOSTILE_NAME), follow_of("dj_x", "<@&123> <@456>")]
    for query in ("", "format=markdown"):
        url = services.url("discord", query)
        renderer = renderer_for(url)
        assert renderer is not None
        result = send_apprise(
            url,
            title=digest_title(events, renderer),
            body=digest_body(events, renderer),
            body_format=renderer.body_format,
        )
        assert result.ok

    content, embed = services.payloads("discord")
    assert "allow_mentions" not in content and "allow_mentions" not in embed
    assert content["content"] == (
        "Audius: @curator followed 2\r\n"
        "**Followed (2)**\n"
        f"- @curator followed [@{Z}everyone](https://audius.co/everyone)"
        f" (\\*\\_\\~\\|\\<\\>&@{Z}everyone)\n"
        f"- @curator followed [@dj\\_x](https://audius.co/dj_x) (\\<@{Z}&123\\> \\<@{Z}456\\>)"
    )
    [shown] = embed["embeds"]
    assert shown["title"] == "Audius: @curator followed 2"
    assert shown["description"] == (
        "**Followed (2)**\n"
        f"- @{Z}curator followed [@{Z}everyone](https://audius.co/everyone)"
        f" (\\*\\_\\~\\|\\<\\>&@{Z}everyone)\n"
        f"- @{Z}curator followed [@{Z}dj\\_x](https://audius.co/dj_x)"
        f" (\\<@{Z}&123\\> \\<@{Z}456\\>)"
    )


# -- Slack's two modes --------------------------------------------------------------------------


def test_slack_can_be_sent_no_mention_in_either_of_its_modes(services: Services) -> None:
    """Whether Apprise posts a legacy attachment or Block Kit (`?blocks=yes`), Slack gets the
    text with `&`, `<`, `>` escaped, as plain text: `<!channel>` or `<@U123>` in a name is
    shown as written, never a mention."""
    events = [follow_of("chan", "<!channel> & <@U123>")]
    expected = (
        "Followed (1):\n"
        "+ @curator followed @chan (&lt;!channel&gt; &amp; &lt;@U123&gt;) https://audius.co/chan"
    )
    for query in ("", "blocks=yes"):
        url = services.url("slack", query)
        renderer = renderer_for(url)
        assert renderer is not None and renderer.name == "slack"
        title, body = digest_title(events, renderer), digest_body(events, renderer)
        assert send_apprise(url, title=title, body=body, body_format=renderer.body_format).ok

    legacy, blocks = services.payloads("slack")
    assert legacy["mrkdwn"] is False
    assert legacy["attachments"][0]["text"] == expected
    header, section = blocks["attachments"][0]["blocks"][:2]
    assert header["text"]["text"] == "Audius: @curator followed 1"
    assert section["text"] == {"type": "plain_text", "text": expected}
