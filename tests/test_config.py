from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config import load, resolve_path
from watcher.errors import ConfigError
from watcher.platforms.audius_kind import AudiusSettings
from watcher.sinks.webhook_kind import WebhookSettings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec's example

MINIMAL = """
[[watch]]
platform = "audius"
account = "Audius"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watcher.toml"
    path.write_text(text)
    return path


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    config = load(ROOT / "config.example.toml")
    assert [w.relation for w in config.watch] == ["following", "followers"]
    assert config.interval_of(config.watch[0]) == 300.0
    assert config.interval_of(config.watch[1]) == 900.0
    assert config.notifiers["crm"].type == "webhook"


def test_defaults_apply_when_keys_are_absent(tmp_path: Path) -> None:
    config = load(write(tmp_path, MINIMAL))
    watch = config.watch[0]
    assert watch.relation == "following"
    assert config.interval_of(watch) == 900.0 and config.jitter_of(watch) == 30.0
    assert config.section("audius", AudiusSettings).base_url == "https://api.audius.co/v1"


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ('interval = "2s"\n', 0.2),  # the default 30 s would swamp a 2 s interval
        ('interval = "1m"\njitter = "10s"\n', 6.0),
        ('interval = "1m"\njitter = "2s"\n', 2.0),  # less than a tenth: as configured
        ('interval = "15m"\n', 30.0),
        ('interval = "1h"\njitter = "0s"\n', 0.0),
    ],
)
def test_jitter_never_exceeds_a_tenth_of_the_interval(
    tmp_path: Path, keys: str, expected: float
) -> None:
    config = load(write(tmp_path, MINIMAL + keys))
    assert config.jitter_of(config.watch[0]) == pytest.approx(expected)


def test_a_default_jitter_is_capped_by_each_watch_interval(tmp_path: Path) -> None:
    text = '[defaults]\njitter = "1m"\n' + MINIMAL + 'interval = "30s"\n'
    text += MINIMAL.replace('"Audius"', '"other"') + 'interval = "1h"\n'
    config = load(write(tmp_path, text))
    assert [config.jitter_of(w) for w in config.watch] == pytest.approx([3.0, 60.0])


def test_relative_database_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    config = load(write(tmp_path, 'database = "data/w.db"\n' + MINIMAL))
    assert config.database_path == tmp_path.resolve() / "data" / "w.db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL + 'notify = ["nope"]\n', "watch 'Audius': notify: no [notifiers.nope] is defined"),
        (MINIMAL + 'relation = "friends"\n', "watch 'Audius': relation"),
        (MINIMAL + 'interval = "soon"\n', "watch 'Audius': interval: 'soon' is not a duration"),
        (MINIMAL.replace("audius", "myspace", 1), "unknown platform 'myspace'"),
        (MINIMAL + "colour = 1\n", "watch 'Audius': colour: unknown key"),
        ("[audius]\nbase_url = 'ftp://x'\n", "audius.base_url: 'ftp://x' is not an http(s) URL"),
        (MINIMAL + MINIMAL, "watch 'Audius' (#2): the same watch is listed twice"),
        (
            '[notifiers.x]\ntype = "webhook"\nurl = "https://h/x"\n'
            f'secret = "{SECRET}"\nevents = ["following.renamed"]\n',
            "notifiers.x.events: unknown event type 'following.renamed'",
        ),
        ("[notifiers.x]\ntype = 'pigeon'\n", "notifiers.x"),
        ("database = [", "not valid TOML"),
    ],
)
def test_config_mistakes_name_the_key_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_environment_references_are_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    text = '[notifiers.x]\ntype = "webhook"\nurl = "https://h/x"\nsecret = "${HOOK_SECRET}"\n'
    config = load(write(tmp_path, text))
    notifier = config.notifiers["x"]
    assert isinstance(notifier, WebhookSettings) and notifier.secret == SECRET


def test_missing_environment_variable_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    text = '[audius]\napi_key = "${NOT_SET_ANYWHERE}"\n'
    with pytest.raises(
        ConfigError, match=r"audius\.api_key: environment variable NOT_SET_ANYWHERE"
    ):
        load(write(tmp_path, text))


def test_audius_api_key_falls_back_to_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIUS_API_KEY", "k-123")
    config = load(write(tmp_path, MINIMAL))
    assert config.section("audius", AudiusSettings).api_key == "k-123"


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHER_CONFIG", raising=False)
    assert resolve_path(None) == Path("watcher.toml")
    monkeypatch.setenv("WATCHER_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_path(None) == tmp_path / "env.toml"
    assert resolve_path(tmp_path / "flag.toml") == tmp_path / "flag.toml"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "absent.toml")
