"""What status says of the states a newcomer meets first: a watch never polled is `never
polled`, not ok; `status --check` is one line per problem and exit 1 for monitors; an account
written as a URL is shown by its handle once a poll resolved it (status, once, logs,
metrics)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from prometheus_client import CollectorRegistry, generate_latest

from tests.receiver import Receiver
from tests.world import AudiusWorld, SoundCloudWorld, curator_following
from watcher.cli import cli
from watcher.metrics import StoreCollector


def run(world: AudiusWorld | SoundCloudWorld, tmp_path: Path, *args: str) -> Result:
    config = world.write_config(tmp_path / "watcher.toml")
    return CliRunner().invoke(cli, [*args[:1], "--config", str(config), *args[1:]])


def test_a_never_polled_watch_says_so_and_is_not_counted_ok(
    audius: AudiusWorld, tmp_path: Path
) -> None:
    curator_following(audius, 5)
    audius.watch("curator")
    audius.watch("https://audius.co/newcomer")
    audius.poll(0)

    result = run(audius, tmp_path, "status")
    data = [
        json.loads(line) for line in run(audius, tmp_path, "status", "--json").stdout.splitlines()
    ]

    assert result.exit_code == 0, result.output
    header, polled, never = result.stdout.splitlines()[:3]
    assert header.split()[:2] == ["PLATFORM", "ACCOUNT"]
    assert polled.split()[:6] == ["audius", "curator", "following", "5", polled.split()[4], "ok"]
    assert never.split()[:5] == ["audius", "https://audius.co/newcomer", "following", "-", "-"]
    assert "never polled" in never
    assert result.stderr.startswith("health: 1 of 2 watches ok, 1 never polled;")
    assert data[1]["last_poll_at"] is None and data[1]["outcome"] is None


def test_status_check_is_ok_when_every_watch_polled_and_every_notifier_delivers(
    outbox: AudiusWorld, tmp_path: Path
) -> None:
    with Receiver() as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        curator, artists = curator_following(outbox)
        outbox.poll()
        outbox.sim.follow(curator, artists[30])
        outbox.poll()
        outbox.dispatch()

        result = run(outbox, tmp_path, "status", "--check")

    assert (result.exit_code, result.stdout) == (0, "ok: 1 watch polling, 1 notifier delivering\n")


def test_status_check_names_each_problem_on_one_line_and_exits_1(
    outbox: AudiusWorld, tmp_path: Path
) -> None:
    with Receiver() as crm, Receiver() as gone:
        outbox.webhook("crm", crm.url("/hook"))
        outbox.webhook("gone", gone.url("/hook"))
        outbox.watch("curator", "crm", "gone")
        outbox.watch("nobody-by-this-name")  # fails: no such account
        curator, artists = curator_following(outbox)
        outbox.poll_all()
        outbox.sim.follow(curator, artists[30])
        outbox.poll_all()
        crm.reply(403)  # dead at once
        gone.reply(410)  # the receiver is gone: the notifier is disabled
        outbox.dispatch()
        outbox.watch("https://audius.co/later")  # added to the config, not polled yet

        result = run(outbox, tmp_path, "status", "--check")

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "watch audius nobody-by-this-name following: failing (2 polls in a row, never"
        " successfully): "
    )
    assert lines[1] == "watch audius https://audius.co/later following: never polled"
    assert lines[2] == "notifier crm: 1 dead delivery (`watcher deliveries --dead`)"
    assert lines[3].startswith("notifier gone: disabled since ") and "410" in lines[3]
    assert lines[4] == "notifier gone: 1 dead delivery (`watcher deliveries --dead`)"
    assert len(lines) == 5


def test_status_check_with_json_is_refused(audius: AudiusWorld, tmp_path: Path) -> None:
    audius.watch("curator")

    result = run(audius, tmp_path, "status", "--check", "--json")

    assert result.exit_code == 2 and "--check prints lines for scripts" in result.output


def test_an_account_written_as_a_url_is_shown_by_its_handle_once_polled(
    either: AudiusWorld | SoundCloudWorld, tmp_path: Path
) -> None:
    either.curator(3)
    host = "audius.co" if either.platform == "audius" else "soundcloud.com"
    url = f"https://{host}/curator"
    either.watch(url)
    before = run(either, tmp_path, "status")

    once = run(either, tmp_path, "once")
    logged = run(either, tmp_path, "once", "--log-format", "json")
    after = run(either, tmp_path, "status")
    as_json = json.loads(run(either, tmp_path, "status", "--json").stdout.splitlines()[0])

    assert before.stdout.splitlines()[1].split()[1] == url
    assert once.stdout.startswith(f"ok {either.platform} curator following: 3 entries")
    [summary] = [json.loads(line) for line in logged.stderr.splitlines() if '"outcome"' in line]
    assert (summary["account"], summary["configured_account"]) == ("curator", url)
    assert after.stdout.splitlines()[1].split()[1] == "curator"
    assert (as_json["account"], as_json["configured_account"]) == ("curator", url)

    store = either.store()
    try:
        registry = CollectorRegistry()
        watches = [(w.key, w.platform, w.account, w.relation) for w in either.config().watch]
        registry.register(StoreCollector(store, lambda: watches))
        text = generate_latest(registry).decode()
    finally:
        store.close()
    assert (
        f'watcher_list_size{{account="curator",configured_account="{url}",'
        f'platform="{either.platform}",relation="following"}} 3.0'
    ) in text
