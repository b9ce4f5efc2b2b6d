"""Issue 15, credentials: the Audius key travels as the query parameter `api_key` (with
`app_name`), the bearer token as `Authorization: Bearer` only when configured, and neither
shows up in an error line, a log, the database or an alert."""

from __future__ import annotations

import json
from pathlib import Path

from tests.commands import run_watcher
from tests.receiver import Receiver
from tests.world import AudiusWorld, World
from watcher.sim.audius import AudiusSim
from watcher.sim.http import SimRequest

# Distinctive values: searched for, byte for byte, in every output.
API_KEY = "audius-key-5f3a9c1e7b2d4680"
BEARER_TOKEN = "audius-bearer-e4d3c2b1a0f9"


def api_requests(sim: AudiusSim) -> list[SimRequest]:
    return [r for r in sim.requests if r.path.startswith("/v1/")]


def confirmed_removal(world: AudiusWorld) -> None:
    """A resolve, a profile, pages and a bulk profile request: every kind Audius gets."""
    curator, artists = world.curator(30)
    world.watch("@curator")
    world.defaults["confirm_after"] = 0
    assert world.poll().ok
    world.sim.unfollow(curator, artists[3])
    for _ in range(3):
        assert world.poll().ok


def test_the_api_key_is_a_query_parameter_on_every_request(audius: AudiusWorld) -> None:
    audius.settings.update(api_key=API_KEY, app_name="watcher-tests")
    confirmed_removal(audius)
    seen = api_requests(audius.sim)
    paths = {r.path.rsplit("/", 1)[-1] if "/handle/" not in r.path else "handle" for r in seen}
    assert {"handle", "following", "users"} <= paths  # resolve, pages, bulk profiles
    assert any(r.path.count("/") == 3 and r.path.startswith("/v1/users/") for r in seen)
    for request in seen:
        assert request.query_all.get("api_key") == [API_KEY], request.path
        assert request.query.get("app_name") == "watcher-tests"
        assert "authorization" not in request.headers


def test_no_key_sends_no_key_parameter(audius: AudiusWorld) -> None:
    confirmed_removal(audius)
    for request in api_requests(audius.sim):
        assert "api_key" not in request.query and "authorization" not in request.headers


def test_a_bearer_token_is_sent_as_authorization_only_when_configured(
    audius: AudiusWorld,
) -> None:
    audius.settings.update(api_key=API_KEY, bearer_token=BEARER_TOKEN)
    confirmed_removal(audius)
    for request in api_requests(audius.sim):
        assert request.headers.get("Authorization") == f"Bearer {BEARER_TOKEN}"
        assert request.query.get("api_key") == API_KEY


def test_a_sim_that_knows_the_key_and_token_serves_the_poll(tmp_path: Path) -> None:
    sim = AudiusSim(seed=2, api_key=API_KEY, bearer_token=BEARER_TOKEN)
    with sim.serve() as base_url:
        world = World(sim, base_url, tmp_path / "watcher.db")
        world.settings.update(api_key=API_KEY, bearer_token=BEARER_TOKEN)
        world.curator(12)
        world.watch()
        report = world.poll()
    assert report.ok and report.size == 12
    assert all(r.status == 200 for r in api_requests(sim))


def test_the_environment_supplies_the_key_and_the_bearer_token(tmp_path: Path) -> None:
    sim = AudiusSim(seed=2)
    sim.add_user("curator")
    with sim.serve() as base_url:
        world = World(sim, base_url, tmp_path / "watcher.db")
        world.watch()
        config = world.write_config(tmp_path / "watcher.toml")
        env = {"AUDIUS_API_KEY": API_KEY, "AUDIUS_BEARER_TOKEN": BEARER_TOKEN}
        result = run_watcher(config, "once", env=env)
    assert result.returncode == 0, result.stderr
    seen = api_requests(sim)
    assert seen and all(r.query.get("api_key") == API_KEY for r in seen)
    assert all(r.headers.get("Authorization") == f"Bearer {BEARER_TOKEN}" for r in seen)


def secrets_in(data: str | bytes) -> list[str]:
    raw = data.encode() if isinstance(data, str) else data
    return [s for s in (API_KEY, BEARER_TOKEN) if s.encode() in raw]


def test_the_key_and_token_appear_in_no_error_log_database_or_alert(tmp_path: Path) -> None:
    sim = AudiusSim(seed=4)
    sim.add_user("curator")
    # A server that echoes the request it refused: its URL with the key, and the header.
    echo = {
        "error": f"refused /v1/users/x?api_key={API_KEY}&app_name=w "
        f"(Authorization: Bearer {BEARER_TOKEN}; key {API_KEY})"
    }
    sim.faults.add("/users", status=403, body=json.dumps(echo), times=None)
    with sim.serve() as base_url, Receiver() as hooks:
        world = World(sim, base_url, tmp_path / "watcher.db")
        world.settings.update(api_key=API_KEY, bearer_token=BEARER_TOKEN, app_name="w")
        world.defaults["alert_after"] = 1
        world.tables["log"] = {"level": "debug"}  # every line there is, searched
        world.webhook("crm", hooks.url("/hook"))
        world.watch("curator", "crm")
        config = world.write_config(tmp_path / "watcher.toml", database="w.db")
        runs = [
            run_watcher(config, "once"),
            run_watcher(config, "once", "--log-format", "json"),
            run_watcher(config, "status"),
            run_watcher(config, "status", "--json"),
            run_watcher(config, "deliveries", "--json"),
        ]
        alerts = [r for r in hooks.requests if r.path == "/hook"]
    assert runs[0].returncode == 1 and runs[1].returncode == 1 and "HTTP 403" in runs[0].stderr
    assert "/v1/users/handle/curator" in runs[0].stderr  # the URL is named, not its query
    assert "api_key=****" in runs[0].stderr and "Bearer ****" in runs[0].stderr
    assert alerts and {a.json()["type"] for a in alerts} == {"watch.failing"}
    assert "HTTP 403" in alerts[0].json()["data"]["error"]
    for run in runs:
        assert secrets_in(run.stdout + run.stderr) == [], run.args
    for alert in alerts:
        assert secrets_in(alert.body) == []
    for name in ("w.db", "w.db-wal"):
        if (tmp_path / name).exists():
            assert secrets_in((tmp_path / name).read_bytes()) == [], name
