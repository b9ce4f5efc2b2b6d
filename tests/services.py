"""Discord, Slack, Telegram and email as Apprise really reaches them, on loopback.

`Services` reads what Apprise's own plugins send: one intercepting `Receiver` stands in for
discord.com, hooks.slack.com and api.telegram.org at once (it is the HTTPS proxy the `services`
fixture names in `HTTPS_PROXY`; the URLs below carry `verify=no`, so Apprise accepts its
throwaway certificate), and a `Mailbox` is the mail server. Apprise's formatting, conversion,
escaping and payloads are the real ones; only the network ends at 127.0.0.1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.mailbox import Mailbox
from tests.receiver import Receiver
from watcher.redaction import REDACTOR

SERVICES = ("discord", "slack", "telegram", "email")
# Well-formed ids and tokens, for hosts the receiver stands in for.
_URLS = {
    "discord": "discord://123456789012345678/WebhookToken-abc_123?verify=no",
    "slack": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ?verify=no",
    "telegram": "tgram://123456789:AAHxyz-abcdefghijklmnopqrstuvwxyz12/12345?verify=no",
}
_HOSTS = {"discord": "discord.com", "slack": "hooks.slack.com", "telegram": "api.telegram.org"}


@dataclass(frozen=True)
class Shown:
    """One message as its service got it: the title as the service shows it (Discord's and
    Telegram's first line of the message, Slack's attachment title, the mail's subject) and
    the rest of the text, exactly as sent (line breaks as `\\n`)."""

    title: str
    body: str


class Services:
    def __init__(self, receiver: Receiver, mailbox: Mailbox) -> None:
        self.receiver = receiver
        self.mailbox = mailbox

    def url(self, service: str, query: str = "") -> str:
        """The Apprise URL of `service` (`&`-joined `query` keys added)."""
        if service == "email":
            return self.mailbox.url() + (f"&{query}" if query else "")
        return _URLS[service] + (f"&{query}" if query else "")

    def shown(self, service: str) -> list[Shown]:
        """Every message `service` got so far, in order."""
        if service == "email":
            return [
                Shown(str(mail["Subject"]), _lines(mail.get_content()))
                for mail in self.mailbox.messages
            ]
        return [
            _shown(service, request.json())
            for request in self.receiver.requests
            if request.headers.get("host") == _HOSTS[service]
        ]

    def payloads(self, service: str) -> Iterator[dict[str, Any]]:
        for request in self.receiver.requests:
            if request.headers.get("host") == _HOSTS[service]:
                yield request.json()


def _lines(text: str) -> str:
    return "\n".join(text.splitlines())


def _shown(service: str, payload: dict[str, Any]) -> Shown:
    if service == "slack":
        [attachment] = payload["attachments"]
        return Shown(str(attachment["title"]), str(attachment["text"]))
    if service == "discord" and "embeds" in payload:
        [embed] = payload["embeds"]
        return Shown(str(embed["title"]), str(embed["description"]))
    text = str(payload["content" if service == "discord" else "text"])
    title, _, body = text.partition("\r\n")
    return Shown(title, _lines(body))


@contextlib.contextmanager
def standing_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """The stand-ins running, and this process (and the commands it starts) sending its HTTPS
    requests through the receiver.

    Delivering registers the pieces of the notifier URLs that `redact_url` hides (ids,
    tokens, but also words such as `verify` or a mail address's `team`) as secrets of the
    process; they are forgotten at the end, so no later test finds its words masked.
    """
    try:
        with Receiver(intercept=True) as receiver, Mailbox() as mailbox:
            proxy = f"http://127.0.0.1:{receiver.port}"
            for name in ("HTTPS_PROXY", "https_proxy"):
                monkeypatch.setenv(name, proxy)
            for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
                monkeypatch.delenv(name, raising=False)
            yield Services(receiver, mailbox)
    finally:
        REDACTOR.clear()
