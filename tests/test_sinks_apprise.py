"""Apprise delivery with real Apprise, through its `json://` service, to a loopback receiver."""

from __future__ import annotations

import re
import socket
import time
from datetime import UTC, datetime

import pytest

from tests.receiver import Receiver
from watcher.events import Event
from watcher.platforms.base import Profile
from watcher.sinks.apprise_sink import (
    ServiceLimits,
    describe_urls,
    renderer_for,
    send_apprise,
)
from watcher.sinks.base import SendResult, redact_url
from watcher.sinks.message import digest_body, digest_title
from watcher.sinks.renderers import JSON, PLAIN_TEXT, ZWSP, generic

MOMENT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ACCOUNT = Profile(id="1", handle="Audius", name="Audius", url="https://audius.co/Audius")


def follow(name: str, handle: str, index: int) -> Event:
    target = Profile(
        id=str(100 + index), handle=handle, name=name, url=f"https://audius.co/{handle}"
    )
    return Event.create(
        platform="audius",
        relation="following",
        added=index % 4 != 3,
        account=ACCOUNT,
        target=target,
        moment=MOMENT,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_message_arrives_with_our_title_and_body() -> None:
    with Receiver() as rx:
        result = send_apprise(
            rx.url("/notify", "json"), title="@Audius followed 1", body="hi", body_format="text"
        )

    assert result == SendResult(ok=True)
    [request] = rx.requests
    assert request.method == "POST" and request.path == "/notify"
    payload = request.json()
    assert (payload["title"], payload["message"]) == ("@Audius followed 1", "hi")


def test_a_failing_receiver_gives_its_status_in_the_result() -> None:
    with Receiver() as rx:
        rx.reply(500)
        result = send_apprise(rx.url("/notify", "json"), title="t", body="b", body_format="text")

    assert not result.ok and result.retryable and result.status == 500
    assert result.error is not None and "HTTP 500" in result.error
    assert f"json://127.0.0.1:{rx.port}/notify" in result.error


@pytest.mark.parametrize(("status", "gone"), [(400, False), (404, False), (410, True)])
def test_statuses_that_will_not_change_are_permanent(status: int, gone: bool) -> None:
    with Receiver() as rx:
        rx.reply(status)
        result = send_apprise(rx.url("/notify", "json"), title="t", body="b", body_format="text")

    assert not result.ok and result.permanent and result.gone is gone
    assert result.status == status


def test_an_unreachable_service_is_retryable_and_says_why_without_secrets() -> None:
    port = closed_port()

    result = send_apprise(
        f"json://admin:hunter2@127.0.0.1:{port}/notify?token=s3cret",
        title="t",
        body="b",
        body_format="text",
    )

    assert result.retryable and result.status is None
    assert result.error is not None
    assert "Connection error" in result.error and f"127.0.0.1:{port}" in result.error
    assert (
        "hunter2" not in result.error
        and "s3cret" not in result.error
        and "admin" not in result.error
    )


@pytest.mark.parametrize(
    "url", ["", "json://", "nosuchservice://user:hunter2@example.com/tok3n", "not a url"]
)
def test_a_malformed_url_fails_permanently(url: str) -> None:
    result = send_apprise(url, title="t", body="b", body_format="text")

    assert not result.ok and result.permanent
    assert result.error is not None
    assert result.error.startswith("unsupported or malformed Apprise URL")
    assert "hunter2" not in result.error and "tok3n" not in result.error


def test_one_failing_url_does_not_fail_another() -> None:
    with Receiver() as broken, Receiver() as working:
        broken.reply(503)
        results = [
            send_apprise(rx.url("/n", "json"), title="t", body="b", body_format="text")
            for rx in (broken, working)
        ]

    assert [result.ok for result in results] == [False, True]
    assert len(working.requests) == 1


def test_a_hostile_display_name_arrives_neutralised() -> None:
    events = [
        follow("@everyone", "a", 0),
        follow("<@&123456>", "b", 1),
        follow("<!channel>", "c", 2),
        follow("[click](https://evil.example)", "d", 3),
    ]
    markdown = generic("markdown")
    with Receiver() as rx:
        url = rx.url("/n?format=markdown", "json")
        assert renderer_for(url) == generic("markdown", blended_title=False)
        result = send_apprise(
            url,
            title=digest_title(events, markdown),
            body=digest_body(events, markdown),
            body_format="markdown",
        )

    assert result.ok
    message = rx.requests[0].json()["message"]
    assert re.search(r"(?<!\\)<[@#!]|@(everyone|here)\b", message) is None
    assert "@" + ZWSP + "everyone" in message
    assert re.findall(r"(?<!\\)\]\(([^)]*)\)", message) == [
        "https://audius.co/a",
        "https://audius.co/b",
        "https://audius.co/c",
        "https://audius.co/d",
    ]


def test_a_long_digest_arrives_in_parts_that_fit_with_every_line() -> None:
    events = [follow(f"Person {i}", f"person{i}", i) for i in range(40)]
    markdown = generic("markdown")
    body = digest_body(events, markdown)
    with Receiver() as rx:
        result = send_apprise(
            rx.url("/n", "json"),
            title=digest_title(events, markdown),
            body=body,
            body_format="markdown",
            limits=ServiceLimits(body_maxlen=400),
        )

    assert result.ok
    messages = [request.json()["message"] for request in rx.requests]
    assert len(messages) > 3
    assert all(len(message) <= 400 for message in messages)
    markers = [message.split("\n", 1)[0] for message in messages]
    assert markers == [f"(part {i}/{len(messages)})" for i in range(1, len(messages) + 1)]
    received = [line for m in messages for line in m.split("\n")[1:] if line]
    assert received == [line for line in body.split("\n") if line]


def test_a_failed_part_stops_the_message_and_says_which_part() -> None:
    events = [follow(f"Person {i}", f"person{i}", i) for i in range(20)]
    with Receiver() as rx:
        rx.reply(200)
        rx.reply(502)
        result = send_apprise(
            rx.url("/n", "json"),
            title="t",
            body=digest_body(events, PLAIN_TEXT),
            body_format="text",
            limits=ServiceLimits(body_maxlen=300),
        )

    assert not result.ok and result.retryable and result.status == 502
    assert result.error is not None and re.match(r"part 2/\d+: HTTP 502", result.error)
    assert len(rx.requests) == 2


def test_throttling_can_be_turned_off_for_multi_part_sends() -> None:
    events = [follow(f"Person {i}", f"person{i}", i) for i in range(20)]
    started = time.monotonic()
    with Receiver() as rx:
        result = send_apprise(
            rx.url("/n", "json"),
            title="t",
            body=digest_body(events, PLAIN_TEXT),
            body_format="text",
            throttle=False,
            limits=ServiceLimits(body_maxlen=300, request_rate_per_sec=30.0),
        )

    assert result.ok and len(rx.requests) > 2
    assert time.monotonic() - started < 5


def test_describe_urls_flags_only_the_unusable_ones() -> None:
    problems = describe_urls(["json://localhost/hook", "discord://1234/abcdef", "nope://x/y"])

    assert problems == [None, None, "unsupported or malformed Apprise URL nope://****/****"]


@pytest.mark.parametrize(
    ("url", "renderer", "fmt", "titles"),
    [
        ("discord://1234/abcdef", "discord", "text", "discord"),
        ("https://discord.com/api/webhooks/1234/abcdef", "discord", "text", "discord"),
        ("discord://1234/abcdef?format=text", "discord", "text", "discord"),
        ("discord://1234/abcdef?format=markdown", "discord embed", "markdown", "discord"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "slack", "text", "slack"),
        ("https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajk", "slack", "text", "slack"),
        ("tgram://123456789:AAHxyz-abc/12345", "telegram", "html", "telegram"),
        ("mailto://user:pass@example.com", "email", "text", "email"),
        ("mailtos://user:pass@example.com?format=html", "html", "html", "text"),
        ("json://localhost/hook", "json", "text", "json"),
        ("json://localhost/hook?format=markdown", "markdown", "markdown", "text"),
        ("ntfy://ntfy.sh/my-topic", "text", "text", "text"),
        ("matrix://user:pass@example.com/#room", "markdown", "markdown", "text"),
    ],
)
def test_each_url_gets_its_services_renderer_or_one_of_the_format_it_takes_as_is(
    url: str, renderer: str, fmt: str, titles: str
) -> None:
    chosen = renderer_for(url)

    assert chosen is not None
    assert (chosen.name, chosen.body_format, chosen.title.name) == (renderer, fmt, titles)


def test_a_url_apprise_cannot_use_has_no_renderer() -> None:
    assert renderer_for("nope://x") is None
    assert renderer_for("") is None
    assert renderer_for("json://localhost/hook") is JSON


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("discord://1234/abcdef", "discord://****/****"),
        ("https://user:pass@host/path?token=x", "https://****@host/path?..."),
        ("json://127.0.0.1:8080/hook", "json://127.0.0.1:8080/hook"),
        ("tgram://123456789:AAHxyz-abc/12345", "tgram://****/****"),
        ("mailto://me:hunter2@example.com", "mailto://****@example.com"),
        ("ntfy://ntfy.sh/my-topic", "ntfy://ntfy.sh/****"),
        (
            "https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWx",
            "https://discord.com/api/webhooks/****/****",
        ),
        (
            "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnopqrstuvwx",
            "https://hooks.slack.com/services/****/****/****",
        ),
        ("not a url", "****"),
        ("http://[broken", "****"),
    ],
)
def test_redacted_urls_keep_scheme_and_host_and_hide_tokens(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_limit_too_small_for_the_title_still_delivers_every_change() -> None:
    events = [follow(f"P{i}", f"p{i}", i) for i in range(12)]
    title = digest_title(events, PLAIN_TEXT) + " " + "x" * 80
    with Receiver() as rx:
        result = send_apprise(
            rx.url("/n", "json"),
            title=title,
            body=digest_body(events, PLAIN_TEXT),
            body_format="text",
            limits=ServiceLimits(body_maxlen=90, title_maxlen=0),
        )

    assert result.ok
    received = "".join(request.json()["message"] for request in rx.requests)
    assert all(f"https://audius.co/p{i}" in received for i in range(12))
