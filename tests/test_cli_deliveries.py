"""The delivery commands as a user runs them: once, deliveries, redeliver, notify-test, status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.receiver import Receiver
from tests.world import AudiusWorld, curator_following, verified_by
from watcher.cli import cli


def run(outbox: AudiusWorld, tmp_path: Path, *args: str) -> Result:
    config = outbox.write_config(tmp_path / "watcher.toml")
    return CliRunner().invoke(cli, [*args[:1], "--config", str(config), *args[1:]])


def with_one_follow(outbox: AudiusWorld) -> None:
    """A baseline is taken; the next poll (by `watcher once`) finds one new follow."""
    curator, artists = curator_following(outbox)
    outbox.poll()
    outbox.sim.follow(curator, artists[35])


def test_once_polls_then_delivers_and_says_so(outbox: AudiusWorld, tmp_path: Path) -> None:
    with Receiver(check=verified_by()) as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        with_one_follow(outbox)
        result = run(outbox, tmp_path, "once")

    assert result.exit_code == 0, result.output
    assert "+1 -0" in result.stdout
    assert "delivered to crm [1]: @curator followed @artist_35 (Artist 35)" in result.stdout
    assert len(rx.requests) == 1 and rx.rejections == []


def test_once_exit_code_is_0_for_a_retry_and_1_for_a_dead_delivery(
    outbox: AudiusWorld, tmp_path: Path
) -> None:
    with Receiver() as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        with_one_follow(outbox)
        rx.reply(503)
        retrying = run(outbox, tmp_path, "once")
        outbox.sim.follow(outbox.sim.id_of("curator"), outbox.sim.id_of("artist_36"))
        rx.reply(403)
        dead = run(outbox, tmp_path, "once")

    assert retrying.exit_code == 0
    follow_35 = "@curator followed @artist_35 (Artist 35)"
    assert f"delivery failed to crm [1]: {follow_35}; retry at" in retrying.stderr
    assert "HTTP 503" in retrying.stderr
    assert dead.exit_code == 1
    follow_36 = "@curator followed @artist_36 (Artist 36)"
    assert f"delivery DEAD to crm [2]: {follow_36}; HTTP 403" in dead.stderr


def test_deliveries_lists_state_attempts_error_and_next_attempt(
    outbox: AudiusWorld, tmp_path: Path
) -> None:
    with Receiver() as ok, Receiver() as down:
        outbox.webhook("crm", down.url("/hook"))
        outbox.apprise("team", ok.url("/n", "json"))
        outbox.watch("curator", "crm", "team")
        with_one_follow(outbox)
        outbox.poll()
        down.reply(500)
        outbox.dispatch()

    listed = run(outbox, tmp_path, "deliveries")
    failed = run(outbox, tmp_path, "deliveries", "--failed")
    dead = run(outbox, tmp_path, "deliveries", "--dead")
    as_json = run(outbox, tmp_path, "deliveries", "--json", "--limit", "1")

    assert listed.exit_code == 0
    header, *rows = listed.stdout.splitlines()
    assert header.split() == [
        "ID", "NOTIFIER", "WHAT", "STATE", "ATTEMPTS", "NEXT", "ATTEMPT", "LAST", "ERROR"
    ]  # fmt: skip
    assert len(rows) == 2
    what = ["@curator", "followed", "@artist_35", "(Artist", "35)"]
    assert rows[0].split()[:8] == ["1", "crm", *what, "pending"]
    assert "HTTP 500 Internal Server Error from POST http://127.0.0.1" in rows[0]
    assert rows[1].split()[:9] == ["2", "team", *what, "delivered", "1"]
    assert [line.split()[0] for line in failed.stdout.splitlines()[1:]] == ["1"]
    assert dead.stdout == "no dead deliveries\n"
    [record] = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert record["id"] == 2 and record["state"] == "delivered" and record["notifier"] == "team"


def test_redeliver_requeues_by_id_or_all_dead(outbox: AudiusWorld, tmp_path: Path) -> None:
    with Receiver() as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        with_one_follow(outbox)
        outbox.poll()
        rx.reply(404)
        outbox.dispatch()
        assert [row.state for row in outbox.deliveries()] == ["dead"]

        missing = run(outbox, tmp_path, "redeliver", "1", "42")
        all_dead = run(outbox, tmp_path, "redeliver", "--dead")
        once = run(outbox, tmp_path, "once")

    assert missing.exit_code == 1
    assert missing.stdout.startswith("re-queued 1 delivery")
    assert missing.stderr == "no delivery with id 42\n"
    assert all_dead.exit_code == 0 and all_dead.stdout.startswith("re-queued 0 deliveries")
    assert once.exit_code == 0, once.output
    assert [row.state for row in outbox.deliveries()] == ["delivered"]
    assert rx.requests[0].headers["webhook-id"] == rx.requests[1].headers["webhook-id"]


@pytest.mark.parametrize("args", [(), ("1", "--dead")])
def test_redeliver_needs_ids_or_dead_but_not_both(
    outbox: AudiusWorld, tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = run(outbox, tmp_path, "redeliver", *args)

    assert result.exit_code == 2
    assert "give delivery IDs" in result.output


def test_notify_test_reports_each_url_and_fails_if_any_failed(
    outbox: AudiusWorld, tmp_path: Path
) -> None:
    with Receiver() as good, Receiver() as bad:
        outbox.apprise("team", good.url("/n", "json"), bad.url("/n?token=s3cret", "json"))
        bad.reply(401)
        result = run(outbox, tmp_path, "notify-test", "team")

    assert result.exit_code == 1
    assert result.stdout == f"json://127.0.0.1:{good.port}/n: ok\n"
    assert result.stderr.startswith(f"json://127.0.0.1:{bad.port}/n?...: FAILED: HTTP 401")
    assert "s3cret" not in result.output
    assert good.requests[0].json()["title"] == "watcher test message (team)"


def test_notify_test_signs_a_test_webhook_and_re_enables_a_disabled_notifier(
    outbox: AudiusWorld, tmp_path: Path
) -> None:
    with Receiver(check=verified_by()) as rx:
        outbox.webhook("crm", rx.url("/hook"))
        outbox.watch("curator", "crm")
        with_one_follow(outbox)
        outbox.poll()
        rx.reply(410)
        outbox.dispatch()
        status = run(outbox, tmp_path, "status")
        result = run(outbox, tmp_path, "notify-test", "crm")
        after = run(outbox, tmp_path, "status", "--json")

    assert "notifier crm disabled since" in status.stderr and "410" in status.stderr
    assert "1 dead delivery: see `watcher deliveries --dead`" in status.stderr
    [crm_line] = [line for line in status.stdout.splitlines() if line.startswith("crm")]
    assert crm_line.split() == ["crm", "webhook", "disabled", "0", "0", "1", "0"]
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"POST http://127.0.0.1:{rx.port}/hook: ok (HTTP 200)",
        "notifier crm re-enabled; `watcher redeliver --dead` replays what it missed",
    ]
    assert rx.rejections == [] and rx.requests[-1].json()["type"] == "watcher.test"
    notifiers = [json.loads(line) for line in after.stdout.splitlines() if '"notifier"' in line]
    assert notifiers == [
        {
            "notifier": "crm",
            "type": "webhook",
            "disabled_at": None,
            "disabled_reason": None,
            "pending": 0,
            "retrying": 0,
            "dead": 1,
            "delivered": 0,
        }
    ]


def test_notify_test_of_an_unknown_notifier_is_a_usage_error(
    outbox: AudiusWorld, tmp_path: Path
) -> None:
    outbox.apprise("team", "json://127.0.0.1:9/n")
    result = run(outbox, tmp_path, "notify-test", "crm")

    assert result.exit_code == 2
    assert "no [notifiers.crm] in the config (team)" in result.output


def test_once_shows_a_failing_chat_url_as_one_redacted_line(
    outbox: AudiusWorld, tmp_path: Path
) -> None:
    with Receiver() as rx:
        outbox.apprise("team", rx.url("/n", "json"), "json://admin:hunter2@127.0.0.1:9/x")
        outbox.watch("curator", "team")
        with_one_follow(outbox)
        result = run(outbox, tmp_path, "once")

    assert result.exit_code == 0
    [line] = result.stderr.splitlines()  # Apprise's own log lines stay out of the output
    assert line.startswith(
        "delivery failed to team [1]: @curator followed @artist_35 (Artist 35); retry at"
    )
    assert "1 of 2 URLs failed" in line and "json://****@127.0.0.1:9/x" in line
    assert "hunter2" not in result.output and "admin" not in result.output
    assert len(rx.requests) == 1
