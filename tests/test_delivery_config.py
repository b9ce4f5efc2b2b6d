"""Notifier mistakes are caught when the config loads, in one line that shows no secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config import load
from watcher.errors import ConfigError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WATCH = '[[watch]]\nplatform = "audius"\naccount = "Audius"\nnotify = ["n"]\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watcher.toml"
    path.write_text(text, encoding="utf-8")
    return path


def webhook(secret: str, extra: str = "") -> str:
    return f'[notifiers.n]\ntype = "webhook"\nurl = "https://h/x"\nsecret = "{secret}"\n{extra}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (webhook("hunter2hunter2hunter2"), "notifiers.n.secret: must start with 'whsec_'"),
        (webhook("whsec_aHVudGVyMg=="), "notifiers.n.secret: is too short (7 bytes"),
        (
            '[notifiers.n]\ntype = "apprise"\nurls = ["json://localhost/a", "nope://tok3n/x"]\n',
            "notifiers.n.urls: [1] unsupported or malformed Apprise URL nope://****/****",
        ),
        ('[notifiers.n]\ntype = "apprise"\nurls = []\n', "notifiers.n.urls"),
        ("[defaults]\nalert_after = -1\n", "defaults.alert_after"),
    ],
)
def test_notifier_mistakes_are_one_line_without_the_secret(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, text))

    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert "hunter2" not in message and "aHVudGVyMg" not in message and "tok3n" not in message


def test_alert_types_may_be_filtered_like_event_types(tmp_path: Path) -> None:
    text = webhook(SECRET, 'events = ["following.added", "watch.failing"]\n') + WATCH
    config = load(write(tmp_path, text))

    assert config.notifiers["n"].events == ["following.added", "watch.failing"]
    assert config.defaults.alert_after == 3
