"""Credentials never leave: fed back by a platform's error body and by a receiver's, none of
them shows up in any output stream, log format, the database file or any delivered body."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.commands import run_watcher
from tests.receiver import Receiver
from watcher.sim.audius import AudiusSim
from watcher.sim.soundcloud import SoundCloudSim

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "c0ffee5ecretapikey0123456789abcdef"
CLIENT_ID = "sc-app-client-id-77f1"
CLIENT_SECRET = "sc-client-secret-9f8e7d6c5b4a"
HOOK_KEY = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ECHO_KEY = "QmFzZTY0U2VjcmV0Rm9yRWNob1JlY2VpdmVy"
APPRISE_PASSWORD = "apprise-pass-5150"
SECRETS = (API_KEY, CLIENT_ID, CLIENT_SECRET, HOOK_KEY, ECHO_KEY, APPRISE_PASSWORD)


def run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    secrets = {"AUDIUS_API_KEY": API_KEY, "SOUNDCLOUD_CLIENT_SECRET": CLIENT_SECRET}
    return run_watcher(config, *args, env=secrets)


def leaked(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [secret for secret in SECRETS if secret.encode() in data]


def test_credentials_echoed_by_platforms_and_receivers_appear_nowhere(tmp_path: Path) -> None:
    audius = AudiusSim(seed=3, api_key=API_KEY)
    audius.add_user(handle="curator")
    echo = json.dumps({"error": f"bad key {API_KEY}", "auth": f"Bearer {API_KEY}"})
    audius.faults.add("/users", status=401, body=echo, times=None)
    soundcloud = SoundCloudSim(seed=3, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    soundcloud.add_user("scout")
    pair = f"{CLIENT_ID}:{CLIENT_SECRET}"
    soundcloud.faults.add(
        "/users", status=401, body=json.dumps({"error": f"upstream said {pair}"}), times=None
    )
    with (
        audius.serve() as audius_url,
        soundcloud.serve() as soundcloud_url,
        Receiver() as good,
        Receiver() as echoing,
    ):
        for _ in range(8):
            echoing.reply(500, body=f"refused whsec_{ECHO_KEY} and {API_KEY}".encode())
        config = tmp_path / "watcher.toml"
        config.write_text(
            'database = "w.db"\n'
            "[defaults]\nalert_after = 1\n"
            f'[audius]\nbase_url = "{audius_url}"\n'
            f'[soundcloud]\nbase_url = "{soundcloud_url}"\n'
            f'token_url = "{soundcloud_url}/oauth/token"\nclient_id = "{CLIENT_ID}"\n'
            f'[notifiers.crm]\ntype = "webhook"\nurl = "{good.url("/hook")}"\n'
            f'secret = "whsec_{HOOK_KEY}"\n'
            f'[notifiers.echo]\ntype = "webhook"\nurl = "{echoing.url("/hook")}"\n'
            f'secret = "whsec_{ECHO_KEY}"\n'
            '[notifiers.chat]\ntype = "apprise"\n'
            f'urls = ["json://bot:{APPRISE_PASSWORD}@127.0.0.1:{good.port}/chat"]\n'
            '[[watch]]\nplatform = "audius"\naccount = "curator"\n'
            'notify = ["crm", "echo", "chat"]\n'
            '[[watch]]\nplatform = "soundcloud"\naccount = "scout"\n'
            'notify = ["crm", "echo", "chat"]\n',
            encoding="utf-8",
        )
        runs = [
            run_cli(config, "once"),
            run_cli(config, "once", "--log-format", "json"),
            run_cli(config, "status"),
            run_cli(config, "status", "--json"),
            run_cli(config, "deliveries", "--json"),
            run_cli(config, "events", "--json"),
        ]
        delivered = list(good.requests) + list(echoing.requests)
    assert runs[0].returncode == 1 and "bad key ****" in runs[0].stderr
    assert "upstream said ****:****" in runs[0].stderr
    alerts = [r.json() for r in good.requests if r.path == "/hook"]
    assert {a["type"] for a in alerts} == {"watch.failing"} and len(alerts) == 2
    assert all("****" in a["data"]["error"] for a in alerts)
    assert any(r.path == "/chat" for r in good.requests)  # the chat got the alerts too
    assert echoing.requests and "HTTP 500" in runs[4].stdout  # the echo's answer was read
    for run in runs:
        assert leaked(run.stdout + run.stderr) == [], run.args
    for request in delivered:
        assert leaked(request.body) == []
    for name in ("w.db", "w.db-wal"):
        if (tmp_path / name).exists():
            assert leaked((tmp_path / name).read_bytes()) == [], name
