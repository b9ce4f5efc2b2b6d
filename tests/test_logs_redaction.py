"""Secrets never reach a log line or an error message, in text or JSON, ours or a library's."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from watcher import logs
from watcher.config import parse
from watcher.sim.audius import AudiusSim

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "c0ffee5ecretapikey0123456789abcdef"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DISCORD = "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js"
CLIENT_SECRET = "sc-client-secret-9f8e7d6c5b4a"
SECRETS = (API_KEY, WEBHOOK_SECRET.removeprefix("whsec_"), "JHMHI8qBe7bk2ZwO5U711o3dV_js")


@pytest.fixture(autouse=True)
def clean_redactor() -> Iterator[None]:
    logs.REDACTOR.clear()
    yield
    logs.REDACTOR.clear()
    logging.getLogger().handlers[:] = [
        h for h in logging.getLogger().handlers if h.get_name() != "watcher"
    ]


def config_document() -> dict[str, object]:
    return {
        "audius": {"api_key": API_KEY},
        "notifiers": {
            "chat": {"type": "apprise", "urls": [DISCORD, "mailto://bob:hunter22@example.com"]},
            "crm": {"type": "webhook", "url": "https://example.com/h", "secret": WEBHOOK_SECRET},
        },
    }


def assert_clean(text: str) -> None:
    for secret in (*SECRETS, "hunter22", CLIENT_SECRET):
        assert secret not in text, f"{secret!r} leaked into: {text}"


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("GET https://bob:hunter22@example.com/x failed", "https://****@example.com/x"),
        (f"signing with {WEBHOOK_SECRET}", "signing with whsec_****"),
        ("header Authorization: Bearer abcdefgh12345678", "Authorization: Bearer ****"),
        ("Authorization: OAuth 2-294567-12345-abcdefgh", "Authorization: OAuth ****"),
        ("POST /oauth2/token?client_secret=s3cr3t&grant_type=x", "client_secret=****&grant_type=x"),
        ("refresh_token=abc.def-ghi", "refresh_token=****"),
    ],
)
def test_credential_shaped_text_is_masked_without_being_registered(line: str, shown: str) -> None:
    assert shown in logs.redact(line)


def test_ordinary_text_is_left_alone() -> None:
    line = "ok audius curator following: 211 entries, 1 pass(es), +1 -0 in 0.20s; status_code=200"
    assert logs.redact(line) == line


def test_parsing_a_config_registers_its_secrets_and_the_hidden_parts_of_its_urls() -> None:
    parse(config_document())
    line = f"key {API_KEY} secret {WEBHOOK_SECRET} url {DISCORD} mail bob:hunter22"
    masked = logs.redact(line)
    assert_clean(masked)
    assert "discord://4174216298/****" not in masked  # the id is hidden as well
    assert "****" in masked


def test_secret_values_are_found_by_key_name_in_any_section() -> None:
    found = logs.secret_values(
        {"soundcloud": {"client_id": "sc-client-id-1234", "client_secret": CLIENT_SECRET}}
    )
    assert found == {"sc-client-id-1234", CLIENT_SECRET}


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_and_tracebacks_are_redacted_in_both_formats(fmt: logs.LogFormat) -> None:
    parse(config_document())
    stream = io.StringIO()
    logs.setup(fmt, "debug", stream)
    log = logging.getLogger("watcher.test")
    log.info("using %s", API_KEY, extra={"url": DISCORD, "account": "curator"})
    logging.getLogger("httpx").warning("HTTP Request: GET https://x/?token=%s", API_KEY)
    try:
        raise RuntimeError(f"receiver said {WEBHOOK_SECRET}")
    except RuntimeError:
        log.exception("delivery to %s failed", DISCORD)
    output = stream.getvalue()
    assert_clean(output)
    lines = output.strip().splitlines()
    if fmt == "json":
        entries = [json.loads(line) for line in lines]
        assert entries[0]["account"] == "curator" and entries[0]["level"] == "info"
        assert "RuntimeError" in entries[2]["exception"]
    else:
        assert "INFO using ****" in lines[0]
        assert any("Traceback" in line for line in lines)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "WATCHER_TEST_KEY": API_KEY},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_platform_echoing_the_api_key_in_its_error_does_not_leak_it(tmp_path: Path) -> None:
    sim = AudiusSim(seed=1)
    sim.add_user(handle="curator")
    echo = json.dumps({"error": f"invalid key {API_KEY} (Authorization: Bearer {API_KEY})"})
    sim.faults.add("/users", status=401, body=echo, times=None)
    with sim.serve() as base_url:
        config = tmp_path / "watcher.toml"
        config.write_text(
            f'database = "w.db"\n[audius]\nbase_url = "{base_url}"\n'
            'api_key = "${WATCHER_TEST_KEY}"\n'
            '[notifiers.crm]\ntype = "webhook"\nurl = "https://e.com/h"\n'
            f'secret = "{WEBHOOK_SECRET}"\n'
            '[[watch]]\nplatform = "audius"\naccount = "curator"\nnotify = ["crm"]\n',
            encoding="utf-8",
        )
        text = run_cli("once", "--config", str(config))
        as_json = run_cli("once", "--log-format", "json", "--config", str(config))
        status = run_cli("status", "--config", str(config))
    assert text.returncode == 1 and as_json.returncode == 1
    assert "HTTP 401" in text.stderr and "invalid key ****" in text.stderr
    failure = json.loads(as_json.stderr.strip().splitlines()[-1])
    assert failure["outcome"] == "error" and "invalid key ****" in failure["error"]
    assert "invalid key ****" in status.stderr
    for result in (text, as_json, status):
        assert_clean(result.stdout + result.stderr)


def test_a_config_error_never_echoes_url_credentials(tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text(
        '[notifiers.crm]\ntype = "webhook"\nurl = "ftp://bob:hunter22@example.com/hook"\n'
        f'secret = "{WEBHOOK_SECRET}"\n',
        encoding="utf-8",
    )
    result = run_cli("status", "--config", str(config))
    assert result.returncode == 2
    assert "notifiers.crm.url" in result.stderr
    assert_clean(result.stderr)


def test_a_notifier_urls_settings_are_not_masked_but_its_tokens_are() -> None:
    """`?format=markdown` or `to=watcher@example.com` are settings: masking their words would
    turn every `watcher` and `markdown` in the logs into stars."""
    logs.register_config_secrets(
        {
            "notifiers": {
                "chat": {
                    "urls": [
                        f"{DISCORD}?format=markdown&avatar=no",
                        "mailto://127.0.0.1:2525?mode=insecure&to=watcher@example.com",
                        "json://hooks.example/in?token=plainwords&key=Zx81Zx81Zx81Zx81",
                    ]
                }
            }
        }
    )

    line = "watcher sent markdown to example.com in insecure mode: plainwords Zx81Zx81Zx81Zx81"
    shown = logs.redact(line + " JHMHI8qBe7bk2ZwO5U711o3dV_js 4174216298")

    assert shown == line.replace("plainwords", "****").replace("Zx81Zx81Zx81Zx81", "****") + (
        " **** ****"
    )
